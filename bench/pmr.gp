# SPDX-License-Identifier: MIT
# bench/pmr.gp — the plot of bench/ca-bench-pmr: W3's aggregate Mops/s by
# thread count, one line per resource. Run by `make bench`:
#   gnuplot -e "results='DIR'" bench/pmr.gp   (reads DIR/pmr.csv, writes DIR/pmr_scaling.png)
if (!exists("results")) results = "bench/results"
set terminal pngcairo size 800,500 noenhanced
set output results . "/pmr_scaling.png"
set datafile separator ","
set title "W3 through std::pmr: threads on one shared resource"
set xlabel "threads"
set ylabel "aggregate Mops/s (median)"
set logscale x 2
set xtics (1, 2, 8)
set key outside right
set grid
resources = "ca\\ hint ca\\ ticket synchronized_pool new_delete unsynchronized_pool"
plot for [r in "ca_hint ca_ticket synchronized_pool new_delete unsynchronized_pool"] \
    sprintf("< awk -F, '$1 == \"W3\" && $2 == \"%s\" { print $3 \",\" $4 }' %s/pmr.csv", \
            (r eq "ca_hint" ? "ca hint" : (r eq "ca_ticket" ? "ca ticket" : r)), results) \
    using 1:2 with linespoints title r
