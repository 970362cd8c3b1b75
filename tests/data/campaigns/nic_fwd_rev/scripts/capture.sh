#!/bin/sh
# How the runs were captured (iperf3 3.12, sockperf 3.7, loopback 127.0.0.1).
set -e
for model in virtio-net vmxnet3; do
  for t in 1 2 3; do
    iperf3 -c 127.0.0.1 -p 5299 -t 1 -l 16K -J > iperf3/${model}_fwd_16k_t$t.json
    iperf3 -c 127.0.0.1 -p 5299 -t 1 -l 16K -R -J > iperf3/${model}_rev_16k_t$t.json
    sockperf pp -i 127.0.0.1 -p 11298 -t 1 -m 64 > sockperf/${model}_pp_udp_m64_t$t.txt 2>&1
  done
done
