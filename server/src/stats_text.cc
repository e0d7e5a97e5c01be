#include "stats_text.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/version.hpp>
#include <cassert>
#include <cinttypes>
#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <vector>

#include "memext/extstore.h"
#include "memext/lru_crawler.h"
#include "memext/metadump.h"
#include "parse_util.h"
#include "tls_context.h"
#include "tuning_commands.h"

namespace memext::server {
namespace {

// The workers' buffers summed, as memcached aggregates its threads' stats.
BufferBudget::Snapshot buffer_totals(const ServerContext& ctx) {
  BufferBudget::Snapshot sum;
  for (const BufferBudget* budget : ctx.buffer_budgets) {
    const BufferBudget::Snapshot one = budget->snapshot();
    sum.buffers += one.buffers;
    sum.free_buffers += one.free_buffers;
    sum.responses += one.responses;
    sum.bundles += one.bundles;
  }
  return sum;
}

class StatWriter {
 public:
  explicit StatWriter(std::string& out) : out_(out) {}
  void add(std::string_view name, uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%" PRIu64, v);
    add(name, std::string_view(buf));
  }
  void add(std::string_view name, std::string_view v) {
    out_.append("STAT ");
    out_.append(name);
    out_.push_back(' ');
    out_.append(v);
    out_.append("\r\n");
  }
  void add_double(std::string_view name, double v, int decimals) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    add(name, std::string_view(buf));
  }
  void add_bool(std::string_view name, bool v) { add(name, std::string_view(v ? "yes" : "no")); }

 private:
  std::string& out_;
};

std::string prefixed(const char* fmt, uint32_t id, const char* name) {
  char buf[96];
  std::snprintf(buf, sizeof buf, fmt, id, name);
  return buf;
}

// now - base for the cumulative counters `fields`, never below 0: what
// `stats reset` restarts. Gauges (curr_items, bytes, used_chunks, number...)
// are not listed and stay.
template <typename T, typename Field>
void subtract_counters(T& now, const T& base, std::initializer_list<Field> fields) {
  for (Field f : fields) now.*f = now.*f >= base.*f ? now.*f - base.*f : 0;
}

// The per-class tables of `stats slabs` and `stats items`, matched by class
// id (memcached's reset zeroes its per-thread slab_stats and per-LRU
// itemstats too).
template <typename ClassStats, typename Field>
void subtract_class_counters(std::vector<ClassStats>& now, const std::vector<ClassStats>& base,
                             std::initializer_list<Field> fields) {
  for (ClassStats& c : now) {
    for (const ClassStats& b : base) {
      if (b.id == c.id) subtract_counters(c, b, fields);
    }
  }
}

// The engine's stats with the LRU crawler's figures. Precondition:
// ctx.engine.mutex is held (exclusive).
Stats engine_stats_locked(ServerContext& ctx) {
  assert(ctx.engine.mutex.exclusive_held());
  Stats st = ctx.engine.engine.stats();
  if (const LruCrawler* crawler = ctx.engine.crawler) crawler->add_stats(st);
  return st;
}

// The engine's stats minus what `stats reset` set aside. Precondition:
// ctx.engine.mutex is held (exclusive).
Stats stats_since_reset_locked(ServerContext& ctx) {
  assert(ctx.engine.mutex.exclusive_held());
  Stats st = engine_stats_locked(ctx);
  const Stats& base = ctx.reset_baseline;
  using S = Stats;
  subtract_counters(st, base,
                    {&S::total_items,
                     &S::cmd_get,
                     &S::cmd_set,
                     &S::cmd_flush,
                     &S::cmd_touch,
                     &S::get_hits,
                     &S::get_misses,
                     &S::get_expired,
                     &S::get_flushed,
                     &S::delete_misses,
                     &S::delete_hits,
                     &S::incr_misses,
                     &S::incr_hits,
                     &S::decr_misses,
                     &S::decr_hits,
                     &S::cas_misses,
                     &S::cas_hits,
                     &S::cas_badval,
                     &S::touch_hits,
                     &S::touch_misses,
                     &S::evictions,
                     &S::reclaimed,
                     &S::expired_unfetched,
                     &S::evicted_unfetched,
                     &S::evicted_active,
                     &S::slab_reassign_rescues,
                     &S::slab_reassign_chunk_rescues,
                     &S::slab_reassign_evictions_nomem,
                     &S::slab_reassign_inline_reclaim,
                     &S::slab_reassign_busy_items,
                     &S::slab_reassign_busy_deletes,
                     &S::slabs_moved,
                     &S::lru_crawler_starts,
                     &S::crawler_reclaimed,
                     &S::crawler_items_checked});
  using C = SlabClassStats;
  subtract_class_counters(st.slabs, base.slabs,
                          {&C::get_hits, &C::cmd_set, &C::delete_hits, &C::incr_hits, &C::decr_hits,
                           &C::cas_hits, &C::cas_badval, &C::touch_hits});
  using I = ItemClassStats;
  subtract_class_counters(
      st.items, base.items,
      {&I::evicted, &I::evicted_nonzero, &I::outofmemory, &I::tailrepairs, &I::reclaimed,
       &I::expired_unfetched, &I::evicted_unfetched, &I::evicted_active, &I::crawler_reclaimed,
       &I::crawler_items_checked, &I::lrutail_reflocked, &I::moves_to_cold, &I::moves_to_warm,
       &I::moves_within_lru, &I::direct_reclaims, &I::hits_to_hot, &I::hits_to_warm,
       &I::hits_to_cold, &I::hits_to_temp});
  return st;
}

Stats stats_since_reset(ServerContext& ctx) {
  std::lock_guard lock(ctx.engine.mutex);
  return stats_since_reset_locked(ctx);
}

void general_stats(ServerContext& ctx, StatWriter& w) {
  Stats st;
  ExtStoreStats ext;
  rel_time_t now;
  bool flash = false;
  // memcached prints a background thread's lines only when it is on.
  bool slab_reassign, crawler_on, maintainer_on;
  {
    std::lock_guard lock(ctx.engine.mutex);
    st = stats_since_reset_locked(ctx);
    now = ctx.engine.engine.current_time();
    const EngineConfig& e = ctx.engine.engine.config();
    slab_reassign = e.slab_reassign;
    maintainer_on = e.lru_maintainer;
    crawler_on = ctx.engine.crawler != nullptr ? ctx.engine.crawler->enabled() : e.lru_crawler;
    if (ctx.engine.flash != nullptr) {
      ext = ctx.engine.flash->stats();
      flash = true;
    }
  }
  const ServerCounters& c = ctx.counters;
  auto relaxed = [](const auto& a) -> uint64_t { return a.load(std::memory_order_relaxed); };
  uint64_t base_total_connections, base_rejected, base_read, base_written, base_meta,
      base_too_large, base_no_memory, base_flush_refused, base_auth_cmds, base_auth_errors,
      base_read_buf_oom, base_response_obj_oom, base_listen_disabled, base_listen_disabled_us,
      base_response_obj_count, base_response_obj_bundles;
  {
    std::lock_guard lock(ctx.engine.mutex);
    base_total_connections = ctx.reset_total_connections;
    base_rejected = ctx.reset_rejected_connections;
    base_read = ctx.reset_bytes_read;
    base_written = ctx.reset_bytes_written;
    base_meta = ctx.reset_cmd_meta;
    base_too_large = ctx.reset_store_too_large;
    base_no_memory = ctx.reset_store_no_memory;
    base_flush_refused = ctx.reset_cmd_flush_refused;
    base_auth_cmds = ctx.reset_auth_cmds;
    base_auth_errors = ctx.reset_auth_errors;
    base_read_buf_oom = ctx.reset_read_buf_oom;
    base_response_obj_oom = ctx.reset_response_obj_oom;
    base_response_obj_count = ctx.reset_response_obj_count;
    base_response_obj_bundles = ctx.reset_response_obj_bundles;
    base_listen_disabled = ctx.reset_listen_disabled_num;
    base_listen_disabled_us = ctx.reset_time_in_listen_disabled_us;
  }
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  char buf[64];
  w.add("pid", static_cast<uint64_t>(getpid()));
  w.add("uptime", now - kItemUpdateInterval);  // memcached's clock starts at 62
  w.add("time", static_cast<uint64_t>(ctx.process_started + now));
  w.add("version", kVersion);
  w.add("libevent", "boost-asio-" + std::to_string(BOOST_VERSION / 100000) + "." +
                        std::to_string(BOOST_VERSION / 100 % 1000));
  w.add("pointer_size", static_cast<uint64_t>(sizeof(void*) * 8));
  std::snprintf(buf, sizeof buf, "%ld.%06ld", static_cast<long>(usage.ru_utime.tv_sec),
                static_cast<long>(usage.ru_utime.tv_usec));
  w.add("rusage_user", std::string_view(buf));
  std::snprintf(buf, sizeof buf, "%ld.%06ld", static_cast<long>(usage.ru_stime.tv_sec),
                static_cast<long>(usage.ru_stime.tv_usec));
  w.add("rusage_system", std::string_view(buf));
  w.add("max_connections", ctx.config.max_connections);
  w.add("curr_connections", std::max<int64_t>(0, static_cast<int64_t>(relaxed(c.curr_connections)) +
                                                     ctx.listening_conns - 1));
  w.add("total_connections", relaxed(c.total_connections) - base_total_connections);
  if (ctx.config.ops.maxconns_fast) {
    w.add("rejected_connections", relaxed(c.rejected_connections) - base_rejected);
  }
  w.add("connection_structures", relaxed(c.connection_structures));
  const BufferBudget::Snapshot buffers = buffer_totals(ctx);
  w.add("response_obj_oom", relaxed(c.response_obj_oom) - base_response_obj_oom);
  w.add("response_obj_count", buffers.responses - base_response_obj_count);
  w.add("response_obj_bytes",
        (buffers.bundles - base_response_obj_bundles) * BufferBudget::kBufferBytes);
  w.add("read_buf_count", buffers.buffers);
  w.add("read_buf_bytes", buffers.buffers * BufferBudget::kBufferBytes);
  w.add("read_buf_bytes_free", buffers.free_buffers * BufferBudget::kBufferBytes);
  w.add("read_buf_oom", relaxed(c.read_buf_oom) - base_read_buf_oom);
  w.add("reserved_fds", uint64_t{5} * ctx.config.threads);
  w.add("cmd_get", st.cmd_get);
  w.add("cmd_set", st.cmd_set);
  w.add("cmd_flush", st.cmd_flush + relaxed(c.cmd_flush_refused) - base_flush_refused);
  w.add("cmd_touch", st.cmd_touch);
  w.add("cmd_meta", relaxed(c.cmd_meta) - base_meta);
  w.add("get_hits", st.get_hits);
  w.add("get_misses", st.get_misses);
  w.add("get_expired", st.get_expired);
  w.add("get_flushed", st.get_flushed);
  if (flash) {
    for (const auto& [name, v] : ext.named_get()) w.add(name, v);
  }
  w.add("delete_misses", st.delete_misses);
  w.add("delete_hits", st.delete_hits);
  w.add("incr_misses", st.incr_misses);
  w.add("incr_hits", st.incr_hits);
  w.add("decr_misses", st.decr_misses);
  w.add("decr_hits", st.decr_hits);
  w.add("cas_misses", st.cas_misses);
  w.add("cas_hits", st.cas_hits);
  w.add("cas_badval", st.cas_badval);
  w.add("touch_hits", st.touch_hits);
  w.add("touch_misses", st.touch_misses);
  w.add("store_too_large", relaxed(c.store_too_large) - base_too_large);
  w.add("store_no_memory", relaxed(c.store_no_memory) - base_no_memory);
  w.add("auth_cmds", relaxed(c.auth_cmds) - base_auth_cmds);
  w.add("auth_errors", relaxed(c.auth_errors) - base_auth_errors);
  if (ctx.config.ops.idle_timeout != 0) w.add("idle_kicks", relaxed(c.idle_kicks));
  w.add("bytes_read", relaxed(c.bytes_read) - base_read);
  w.add("bytes_written", relaxed(c.bytes_written) - base_written);
  w.add("limit_maxbytes", st.limit_maxbytes);
  w.add("accepting_conns", uint64_t{c.accepting_conns.load() ? 1u : 0u});
  w.add("listen_disabled_num", relaxed(c.listen_disabled_num) - base_listen_disabled);
  w.add("time_in_listen_disabled_us",
        relaxed(c.time_in_listen_disabled_us) - base_listen_disabled_us);
  w.add("threads", ctx.config.threads);
  w.add("conn_yields", relaxed(c.conn_yields));
  w.add("hash_power_level", st.hash_power_level);
  w.add("hash_bytes", st.hash_bytes);
  w.add("hash_is_expanding", uint64_t{0});
  if (slab_reassign) {
    w.add("slab_reassign_rescues", st.slab_reassign_rescues);
    w.add("slab_reassign_chunk_rescues", st.slab_reassign_chunk_rescues);
    w.add("slab_reassign_evictions_nomem", st.slab_reassign_evictions_nomem);
    w.add("slab_reassign_inline_reclaim", st.slab_reassign_inline_reclaim);
    w.add("slab_reassign_busy_items", st.slab_reassign_busy_items);
    w.add("slab_reassign_busy_deletes", st.slab_reassign_busy_deletes);
    w.add("slab_reassign_running", st.slab_reassign_running);
    w.add("slabs_moved", st.slabs_moved);
  }
  if (crawler_on) {
    w.add("lru_crawler_running", st.lru_crawler_running);
    w.add("lru_crawler_starts", st.lru_crawler_starts);
  }
  if (maintainer_on) w.add("lru_maintainer_juggles", st.lru_maintainer_juggles);
  w.add("malloc_fails", st.malloc_fails);
  const EventLogger::Counters log = ctx.logger.counters();
  w.add("log_worker_dropped", log.worker_dropped);
  w.add("log_worker_written", log.worker_written);
  w.add("log_watcher_skipped", log.watcher_skipped);
  w.add("log_watcher_sent", log.watcher_sent);
  w.add("log_watchers", log.watchers);
  if (flash) {
    for (const auto& [name, v] : ext.named_extstore()) {
      w.add(name, v);
      // The engine's own figures after it are for the simulator's reports;
      // memcached's `stats` ends its extstore lines here.
      if (name == "extstore_io_queue") break;
    }
  }
  if (ctx.tls != nullptr) {
    if (ctx.config.tls.session_cache) w.add("ssl_new_sessions", relaxed(ctx.tls->new_sessions));
    w.add("ssl_handshake_errors", relaxed(ctx.tls->handshake_errors));
    w.add("time_since_server_cert_refresh", static_cast<uint64_t>(now - ctx.tls->last_refresh()));
  }
  w.add("unexpected_napi_ids", uint64_t{0});
  w.add("round_robin_fallback", uint64_t{0});
  w.add("bytes", st.bytes);
  w.add("curr_items", st.curr_items);
  w.add("total_items", st.total_items);
  w.add("slab_global_page_pool", st.slab_global_page_pool);
  w.add("expired_unfetched", st.expired_unfetched);
  w.add("evicted_unfetched", st.evicted_unfetched);
  if (maintainer_on) w.add("evicted_active", st.evicted_active);
  w.add("evictions", st.evictions);
  w.add("reclaimed", st.reclaimed);
  w.add("crawler_reclaimed", st.crawler_reclaimed);
  w.add("crawler_items_checked", st.crawler_items_checked);
  w.add("lrutail_reflocked", uint64_t{0});
  if (maintainer_on) {
    w.add("moves_to_cold", st.moves_to_cold);
    w.add("moves_to_warm", st.moves_to_warm);
    w.add("moves_within_lru", st.moves_within_lru);
    w.add("direct_reclaims", st.direct_reclaims);
    w.add("lru_bumps_dropped", uint64_t{0});
  }
}

void settings_stats(ServerContext& ctx, StatWriter& w) {
  const ServerConfig& cfg = ctx.config;
  // Copied under the lock: runtime tuning commands change these.
  EngineConfig e;
  ExtConfig ext;
  {
    std::lock_guard lock(ctx.engine.mutex);
    e = ctx.engine.engine.config();
    ext = ctx.engine.flash != nullptr ? ctx.engine.flash->config() : e.ext;
  }
  w.add("maxbytes", e.memory_limit);
  w.add("maxconns", cfg.max_connections);
  w.add("tcpport", std::to_string(cfg.unix_socket.empty() ? cfg.port : 0));
  w.add("udpport", std::to_string(cfg.udp_port));
  std::string inter;
  for (const std::string& l : cfg.listen) inter += (inter.empty() ? "" : ",") + l;
  w.add("inter", inter.empty() ? std::string_view("NULL") : std::string_view(inter));
  w.add("verbosity", static_cast<uint64_t>(ctx.verbosity.load()));
  w.add("oldest", uint64_t{0});
  w.add("evictions", e.evict_to_free ? "on" : "off");
  w.add("domain_socket",
        cfg.unix_socket.empty() ? std::string_view("NULL") : std::string_view(cfg.unix_socket));
  char mask[16];
  std::snprintf(mask, sizeof mask, "%o", cfg.unix_mask);
  w.add("umask", std::string_view(mask));
  const OperatorConfig& ops = cfg.ops;
  w.add_bool("shutdown_command", ops.shutdown_enabled);
  w.add_double("growth_factor", e.growth_factor, 2);
  w.add("chunk_size", e.chunk_min_size);
  w.add("num_threads", cfg.threads);
  w.add("num_threads_per_udp", cfg.threads);
  w.add("stat_key_prefix", std::string_view(&ops.prefix_delimiter, 1));
  w.add_bool("detail_enabled", ctx.prefix_stats.enabled());
  w.add("reqs_per_event", ops.reqs_per_event);
  w.add_bool("cas_enabled", e.use_cas);
  w.add("tcp_backlog", cfg.backlog);
  w.add("binding_protocol", cfg.protocol == BindingProtocol::kAuto    ? "auto-negotiate"
                            : cfg.protocol == BindingProtocol::kAscii ? "ascii"
                                                                      : "binary");
  w.add("auth_enabled_sasl", cfg.sasl ? "yes" : "no");
  // memcached prints the -Y file's name.
  w.add("auth_enabled_ascii", cfg.ascii_auth ? std::string_view(cfg.auth_file) : "no");
  w.add("item_size_max", e.item_size_max);
  w.add_bool("maxconns_fast", ops.maxconns_fast);
  w.add("hashpower_init", uint64_t{0});
  w.add_bool("slab_reassign", e.slab_reassign);
  w.add("slab_automove", e.slab_automove);
  w.add_double("slab_automove_ratio", e.slab_automove_ratio, 2);
  w.add("slab_automove_window", e.slab_automove_window);
  w.add("slab_chunk_max", e.slab_chunk_max);
  w.add_bool("lru_crawler", e.lru_crawler);
  w.add("lru_crawler_sleep", e.lru_crawler_sleep);
  w.add("lru_crawler_tocrawl", e.lru_crawler_tocrawl);
  w.add("tail_repair_time", uint64_t{0});
  w.add_bool("flush_enabled", ops.flush_enabled);
  w.add_bool("dump_enabled", ops.dump_enabled);
  w.add("hash_algorithm", ops.hash_algorithm);
  w.add_bool("lru_maintainer_thread", e.lru_maintainer);
  w.add_bool("lru_segmented", e.lru_segmented);
  w.add("hot_lru_pct", e.hot_lru_pct);
  w.add("warm_lru_pct", e.warm_lru_pct);
  w.add_double("hot_max_factor", e.hot_max_factor, 2);
  w.add_double("warm_max_factor", e.warm_max_factor, 2);
  w.add_bool("temp_lru", e.temp_lru);
  w.add("temporary_ttl", e.temporary_ttl);
  w.add("idle_timeout", std::to_string(ops.idle_timeout));
  w.add("watcher_logbuf_size", ops.watcher_logbuf_size);
  w.add("worker_logbuf_size", ops.worker_logbuf_size);
  w.add("read_buf_mem_limit", ops.read_buf_mem_limit);
  w.add_bool("track_sizes", ops.track_sizes);
  w.add("inline_ascii_response", "no");
  w.add("ext_item_size", ext.item_size);
  w.add("ext_item_age", ext.item_age);
  w.add("ext_low_ttl", ext.low_ttl);
  w.add("ext_recache_rate", ext.recache_rate);
  w.add("ext_wbuf_size", ext.wbuf_size);
  w.add("ext_compact_under", ext.compact_under);
  w.add("ext_drop_under", ext.drop_under);
  w.add("ext_max_sleep", ext.max_sleep_us);
  w.add_double("ext_max_frag", ext.max_frag, 2);
  w.add_double("slab_automove_freeratio", ext.slab_automove_freeratio, 3);
  w.add_bool("ext_drop_unread", ext.drop_unread);
  const TlsConfig& tls = cfg.tls;
  auto or_null = [](const std::optional<std::string>& s) {
    return s ? std::string_view(*s) : std::string_view("NULL");
  };
  w.add_bool("ssl_enabled", tls.enabled);
  w.add("ssl_chain_cert", or_null(tls.chain_cert));
  w.add("ssl_key", or_null(tls.key));
  w.add("ssl_verify_mode", std::to_string(tls_verify_flags(tls.verify_mode)));
  w.add("ssl_keyformat", std::to_string(tls.keyformat));
  w.add("ssl_ciphers", or_null(tls.ciphers));
  w.add("ssl_ca_cert", or_null(tls.ca_cert));
  w.add("ssl_wbuf_size", tls.wbuf_size);
  w.add_bool("ssl_session_cache", tls.session_cache);
  w.add_bool("ssl_kernel_tls", tls.kernel_tls);
  w.add("ssl_min_version", tls_version_name(tls.min_version));
  w.add("num_napi_ids", "(null)");
  w.add("memory_file", cfg.ops.memory_file.empty() ? std::string_view("(null)")
                                                   : std::string_view(cfg.ops.memory_file));
}

void items_stats(ServerContext& ctx, StatWriter& w) {
  const Stats st = stats_since_reset(ctx);
  bool temp_lru;
  bool maintainer;  // memcached prints the segments' lines only with its thread
  {
    std::lock_guard lock(ctx.engine.mutex);
    temp_lru = ctx.engine.engine.config().temp_lru;
    maintainer = ctx.engine.engine.config().lru_maintainer;
  }
  for (const ItemClassStats& i : st.items) {
    auto add = [&](const char* name, uint64_t v) { w.add(prefixed("items:%u:%s", i.id, name), v); };
    add("number", i.number);
    if (maintainer) {
      add("number_hot", i.number_hot);
      add("number_warm", i.number_warm);
      add("number_cold", i.number_cold);
      if (temp_lru) add("number_temp", i.number_temp);
      add("age_hot", i.age_hot);
      add("age_warm", i.age_warm);
    }
    add("age", i.age);
    add("mem_requested", i.mem_requested);
    add("evicted", i.evicted);
    add("evicted_nonzero", i.evicted_nonzero);
    add("evicted_time", i.evicted_time);
    add("outofmemory", i.outofmemory);
    add("tailrepairs", i.tailrepairs);
    add("reclaimed", i.reclaimed);
    add("expired_unfetched", i.expired_unfetched);
    add("evicted_unfetched", i.evicted_unfetched);
    if (maintainer) add("evicted_active", i.evicted_active);
    add("crawler_reclaimed", i.crawler_reclaimed);
    add("crawler_items_checked", i.crawler_items_checked);
    add("lrutail_reflocked", i.lrutail_reflocked);
    if (!maintainer) continue;
    add("moves_to_cold", i.moves_to_cold);
    add("moves_to_warm", i.moves_to_warm);
    add("moves_within_lru", i.moves_within_lru);
    add("direct_reclaims", i.direct_reclaims);
    add("hits_to_hot", i.hits_to_hot);
    add("hits_to_warm", i.hits_to_warm);
    add("hits_to_cold", i.hits_to_cold);
    add("hits_to_temp", i.hits_to_temp);
  }
}

void slabs_stats(ServerContext& ctx, StatWriter& w) {
  const Stats st = stats_since_reset(ctx);
  for (const SlabClassStats& c : st.slabs) {
    auto add = [&](const char* name, uint64_t v) { w.add(prefixed("%u:%s", c.id, name), v); };
    add("chunk_size", c.chunk_size);
    add("chunks_per_page", c.chunks_per_page);
    add("total_pages", c.total_pages);
    add("total_chunks", c.total_chunks);
    add("used_chunks", c.used_chunks);
    add("free_chunks", c.free_chunks);
    add("free_chunks_end", 0);
    add("get_hits", c.get_hits);
    add("cmd_set", c.cmd_set);
    add("delete_hits", c.delete_hits);
    add("incr_hits", c.incr_hits);
    add("decr_hits", c.decr_hits);
    add("cas_hits", c.cas_hits);
    add("cas_badval", c.cas_badval);
    add("touch_hits", c.touch_hits);
  }
  w.add("active_slabs", st.active_slabs);
  w.add("total_malloced", st.total_malloced);
}

void extstore_stats(ServerContext& ctx, StatWriter& w) {
  std::lock_guard lock(ctx.engine.mutex);
  if (ctx.engine.flash == nullptr) return;
  ExtStoreStats ext = ctx.engine.flash->stats();
  for (const auto& [name, v] : ext.named_pages()) w.add(name, v);
}

// memcached's `stats cachedump <class> <limit>` and its error lines.
void stats_cachedump_command(Session& s, const std::vector<std::string_view>& t) {
  if (t.size() < 4) {
    s.reply("CLIENT_ERROR bad command line\r\n");
    return;
  }
  uint32_t id = 0, limit = 0;
  if (!parse_uint32(t[2], id) || !parse_uint32(t[3], limit)) {
    s.reply("CLIENT_ERROR bad command line format\r\n");
    return;
  }
  if (id >= kMaxCacheDumpClass) {
    s.reply("CLIENT_ERROR Illegal slab id\r\n");
    return;
  }
  std::string text;
  {
    std::lock_guard lock(s.ctx().engine.mutex);
    text = item_cachedump(s.ctx().engine.engine, id, limit);
  }
  s.responses().append(text);
}

// memcached's `stats detail on|off|dump`; words after the third are ignored.
void stats_detail_command(Session& s, const std::vector<std::string_view>& t) {
  PrefixStats& prefixes = s.ctx().prefix_stats;
  std::string_view what = t.size() >= 3 ? t[2] : std::string_view();
  if (what == "on" || what == "off") {
    prefixes.set_enabled(what == "on");
    s.reply("OK\r\n");
  } else if (what == "dump") {
    s.responses().append(prefixes.dump());
  } else {
    s.reply("CLIENT_ERROR usage: stats detail on|off|dump\r\n");
  }
}

}  // namespace

std::string stats_text(ServerContext& ctx, std::string_view group, bool& ok) {
  std::string out;
  StatWriter w(out);
  ok = true;
  if (group.empty()) {
    general_stats(ctx, w);
  } else if (group == "settings") {
    settings_stats(ctx, w);
  } else if (group == "items") {
    items_stats(ctx, w);
  } else if (group == "slabs") {
    slabs_stats(ctx, w);
  } else if (group == "extstore") {
    extstore_stats(ctx, w);
  } else if (group == "sizes") {
    w.add("sizes_status", "disabled");
  } else if (group == "conns") {
    out.append(ctx.conns.stats_text());
  } else {
    ok = false;
    return {};
  }
  out.append("END\r\n");
  return out;
}

void stats_command(Session& s, const std::vector<std::string_view>& t) {
  if (t.size() >= 2 && t[1] == "reset") {
    ServerContext& ctx = s.ctx();
    std::lock_guard lock(ctx.engine.mutex);
    ctx.reset_baseline = engine_stats_locked(ctx);
    const ServerCounters& c = ctx.counters;
    ctx.reset_total_connections = c.total_connections.load();
    ctx.reset_rejected_connections = c.rejected_connections.load();
    ctx.reset_bytes_read = c.bytes_read.load();
    ctx.reset_bytes_written = c.bytes_written.load();
    ctx.reset_cmd_meta = c.cmd_meta.load();
    ctx.reset_store_too_large = c.store_too_large.load();
    ctx.reset_store_no_memory = c.store_no_memory.load();
    ctx.reset_cmd_flush_refused = c.cmd_flush_refused.load();
    ctx.reset_auth_cmds = c.auth_cmds.load();
    ctx.reset_auth_errors = c.auth_errors.load();
    ctx.reset_read_buf_oom = c.read_buf_oom.load();
    ctx.reset_response_obj_oom = c.response_obj_oom.load();
    const BufferBudget::Snapshot buffers = buffer_totals(ctx);
    ctx.reset_response_obj_count = buffers.responses;
    ctx.reset_response_obj_bundles = buffers.bundles;
    ctx.reset_listen_disabled_num = c.listen_disabled_num.load();
    ctx.reset_time_in_listen_disabled_us = c.time_in_listen_disabled_us.load();
    ctx.prefix_stats.clear();
    s.reply("RESET\r\n");
    return;
  }
  if (t.size() >= 2 && t[1] == "cachedump" && !s.ctx().config.ops.dump_enabled) {
    s.reply("CLIENT_ERROR stats cachedump not allowed\r\n");
    return;
  }
  if (t.size() >= 2 && t[1] == "cachedump") {
    stats_cachedump_command(s, t);
    return;
  }
  if (t.size() >= 2 && t[1] == "detail") {
    stats_detail_command(s, t);
    return;
  }
  bool ok = false;
  std::string text = stats_text(s.ctx(), t.size() >= 2 ? t[1] : std::string_view(), ok);
  if (!ok) {
    s.reply("ERROR\r\n");
    return;
  }
  s.responses().append(text);
}

}  // namespace memext::server
