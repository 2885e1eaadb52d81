# SPDX-License-Identifier: MIT
# bench/plots.gp — the plots of ca-bench, drawn from the data files it writes.
#
# ca-bench runs:  gnuplot -e "w1data='...'; w1png='...'; w3data='...'; w3png='...';
#                             w1ca=N; w3ca=N" plots.gp
# Each data file holds one block per series: a quoted title line, then "x y"
# lines; blocks are apart by two blank lines; the first w1ca (w3ca) blocks are
# chunkarena's (drawn solid), the others malloc's (dashed). An empty file name
# skips its plot.
#
#   w1_latency.png  W1: CDF of the allocation latency (TSC ticks, log x) of the
#                   successful allocations before the first failure, per backend
#                   (chunkarena layers at chunk 256, and each malloc)
#   w3_scaling.png  W3: aggregate Mops/s (median) against the number of threads T,
#                   per chunkarena layer and per malloc

if (!exists("w1data")) w1data = ''
if (!exists("w3data")) w3data = ''
if (!exists("w1png")) w1png = 'w1_latency.png'
if (!exists("w3png")) w3png = 'w3_scaling.png'
if (!exists("w1ca")) w1ca = 0
if (!exists("w3ca")) w3ca = 0

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1100,650 noenhanced font ",10"
} else {
    set terminal png size 1100,650 noenhanced
}
set grid
set key outside right top
# Ten distinct colours; chunkarena's series solid, the mallocs' dashed.
colours = "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf"
do for [i=1:10] { set linetype i lc rgb word(colours, i) lw 2 }
set linetype cycle 10

if (strlen(w1data) > 0) {
    stats w1data using 1 nooutput
    blocks = STATS_blocks
    set output w1png
    set title "W1 seed replay: allocation latency before the first failure (CDF; rdtscp window, overhead not subtracted)"
    set logscale x 10
    set xlabel "TSC ticks (log scale)"
    set ylabel "fraction of allocations taking <= x"
    set yrange [0:1]
    plot for [i=0:blocks-1] w1data index i using 1:2 with steps lt ((i % 10) + 1) \
        dt 1 + (i >= w1ca) title columnheader(1)
    unset logscale x
    set yrange [*:*]
    set output
}

if (strlen(w3data) > 0) {
    stats w3data using 1 nooutput
    blocks = STATS_blocks
    set output w3png
    set title "W3 threads: aggregate throughput on one shared arena (median of the timed runs)"
    set logscale x 2
    set xrange [0.8:10]
    set xtics ("1" 1, "2" 2, "8" 8)
    set xlabel "threads T (2 cores: T=8 oversubscribes)"
    set ylabel "Mops/s"
    set yrange [0:*]
    plot for [i=0:blocks-1] w3data index i using 1:2 with linespoints lt ((i % 10) + 1) \
        dt 1 + (i >= w3ca) pt 7 title columnheader(1)
    set output
}
