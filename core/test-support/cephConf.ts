/**
 * ceph.conf for a throwaway single-node cluster (see ceph.ts). Every path points into `dir`, so
 * nothing lands in /var/lib/ceph, /var/run/ceph or /var/log/ceph.
 */
export function cephConf(o: { dir: string; fsid: string; monPort: number; rgwPort: number }): string {
  const { dir } = o;
  return `[global]
fsid = ${o.fsid}
mon_host = v1:127.0.0.1:${o.monPort}
# No cephx: the cluster lives on loopback for the length of one test file.
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_bind_msgr2 = false
ms_bind_ipv6 = false
public_addr = 127.0.0.1

osd_objectstore = memstore
memstore_device_bytes = ${2 * 1024 * 1024 * 1024}
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
# At init an OSD may send its crush commands before its monitor client has learned the cluster
# fsid; the monitor then answers "wrong fsid" and the OSD exits (seen in 1 of ~10 starts). ceph.ts
# places the OSD in the crush map itself instead.
osd_crush_update_on_start = false
osd_class_update_on_start = false
# The test machine's disk may be fuller than the monitor likes; irrelevant for a temp cluster.
mon_data_avail_warn = 1
mon_data_avail_crit = 0

# The gateway creates its pools one by one at startup, and each pool command waits for the next
# Paxos proposal (1 s by default): that was ~8 s of the gateway's startup, now well under 1 s.
paxos_propose_interval = 0.01
paxos_min_wait = 0.01

run_dir = ${dir}/run
crash_dir = ${dir}/crash
log_file = ${dir}/log/$name.log
mon_cluster_log_file = ${dir}/log/cluster.$channel.log
mon_debug_dump_location = ${dir}/log/$name.tdump
admin_socket = ${dir}/run/$name.asok
pid_file = ${dir}/run/$name.pid
mon_data = ${dir}/mon/$id
osd_data = ${dir}/osd$id
osd_journal = ${dir}/osd$id/journal
keyring = ${dir}/keyring

[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:${o.rgwPort}
rgw_data = ${dir}/rgw
# Deleted objects' data is freed by the garbage collector, by default after 2 hours; memstore keeps
# it in RAM until then.
rgw_gc_obj_min_wait = 5
rgw_gc_processor_period = 5
`;
}
