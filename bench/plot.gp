# bench/plot.gp: connections lost against event rate, one line per system,
# from the sweep of bench/run.sh. run.sh writes datafile as one block per
# system (a "# NAME" line, then "events_per_s_thousands lost_percent" lines
# sorted by rate, blocks separated by two blank lines) and runs
#   gnuplot -e "datafile='...'; outfile='...'; systems='nfflowd ulogd2 ...'" bench/plot.gp
if (!exists("datafile")) datafile = 'bench/out/sweep-plot.dat'
if (!exists("outfile")) outfile = 'bench/out/loss-vs-rate.png'
if (!exists("systems")) systems = 'nfflowd ulogd2 minreader conntrack'
# nfflowd's netlink buffer, as run.sh used it (its default, netlink_rcvbuf)
if (!exists("nfbuf")) nfbuf = '128 MiB'

set terminal pngcairo size 1000,680 enhanced font ",12"
set output outfile
set title "Connections lost against conntrack event rate (NEW + DESTROY), 2 cores"
set xlabel "conntrack events per second over each step, NEW + DESTROY (thousands, as achieved)"
set ylabel "connections lost (%)"
set grid
set key outside below center box maxrows 2 spacing 1.2
set bmargin 8
set xrange [0:*]
set yrange [-2:102]
set ytics 10

label(s) = s eq "nfflowd" ? "nfflowd (IPFIX, defaults: ".nfbuf." buffer, reliable delivery)" : \
           s eq "ulogd2" ? "ulogd2 NFCT(hash) + IPFIX, 16 MiB buffer" : \
           s eq "minreader" ? "minimal reader, a wake-up per event, ".nfbuf." buffer" : \
           s eq "conntrack" ? "conntrack -E (the original's input)" : s
colour(s) = s eq "nfflowd" ? 0x1f77b4 : s eq "ulogd2" ? 0xd62728 : \
            s eq "minreader" ? 0x2ca02c : s eq "conntrack" ? 0xff7f0e : 0x7f7f7f
ptype(s) = s eq "nfflowd" ? 7 : s eq "ulogd2" ? 5 : s eq "minreader" ? 9 : 13
width(s) = s eq "nfflowd" ? 3 : 2

plot for [s in systems] datafile index s using 1:2 with linespoints \
     lw width(s) pt ptype(s) ps 1.5 lc rgb colour(s) title label(s)
