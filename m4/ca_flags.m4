# SPDX-License-Identifier: MIT
# m4/ca_flags.m4 — compiler flag probes for chunkarena's configure.
#
# CA_ADD_CFLAG_IF_WORKS(FLAG, VAR): append FLAG to the shell variable VAR if
# the C compiler accepts it with -Werror (so that an unknown warning option
# is refused rather than warned about).
AC_DEFUN([CA_ADD_CFLAG_IF_WORKS], [
  AS_VAR_PUSHDEF([ca_cv], [ca_cv_cflag_$1])
  AC_CACHE_CHECK([whether $CC accepts $1], [ca_cv], [
    ca_save_CFLAGS=$CFLAGS
    CFLAGS="$CFLAGS -Werror $1"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
      [AS_VAR_SET([ca_cv], [yes])], [AS_VAR_SET([ca_cv], [no])])
    CFLAGS=$ca_save_CFLAGS])
  AS_VAR_IF([ca_cv], [yes], [$2="$$2 $1"])
  AS_VAR_POPDEF([ca_cv])
])

# CA_ARG_ENABLE_BOOL(NAME, HELP): an --enable-NAME option that takes only
# yes or no; any other value stops configure. The value lands in
# ca_enable_NAME (dashes become underscores).
AC_DEFUN([CA_ARG_ENABLE_BOOL], [
  AC_ARG_ENABLE([$1], [AS_HELP_STRING([--enable-$1], [$2 (default: no)])],
    [AS_CASE([$enableval], [yes|no], [],
       [AC_MSG_ERROR([--enable-$1 takes yes or no, not '$enableval'])])],
    [enableval=no])
  AS_TR_SH([ca_enable_$1])=$enableval
])
