#include "tuning_commands.h"

#include <mutex>
#include <string>
#include <vector>

#include "memext/extstore.h"
#include "memext/lru_crawler.h"
#include "memext/metadump.h"
#include "memext/tuning.h"
#include "parse_util.h"
#include "server_context.h"
#include "session.h"
#include "tls_context.h"

namespace memext::server {
namespace {

// memcached's set_noreply_maybe: a last token "noreply" silences the reply,
// error lines included.
void noreply_maybe(Session& s, const std::vector<std::string_view>& t) {
  s.set_noreply(t.back() == "noreply");
}

std::string_view crawl_reply(CrawlerResult result) {
  switch (result) {
    case CrawlerResult::kOk:
      return "OK\r\n";
    case CrawlerResult::kRunning:
      return "BUSY currently processing crawler request\r\n";
    case CrawlerResult::kBadClass:
      return "BADCLASS invalid class id\r\n";
    case CrawlerResult::kNotStarted:
      break;
  }
  return "NOTSTARTED no items to crawl\r\n";
}

// memcached's lru_crawler sleep|tocrawl <n>: safe_strtoul, so a number above
// 32 bits is truncated.
void lru_crawler_setting(Session& s, LruCrawler& crawler, std::string_view name,
                         std::string_view value) {
  uint32_t n = 0;
  if (!parse_uint32(value, n)) {
    s.reply("CLIENT_ERROR bad command line format\r\n");
    return;
  }
  if (name == "sleep" && n > 1'000'000) {
    s.reply("CLIENT_ERROR sleep must be one second or less\r\n");
    return;
  }
  {
    std::lock_guard lock(s.ctx().engine.mutex);
    if (name == "sleep") {
      crawler.set_sleep(n);
    } else {
      crawler.set_tocrawl(n);
    }
  }
  s.reply("OK\r\n");
}

// memcached's metadump runs on its crawler thread, so a crawl in progress
// (autoexpire included) makes it BUSY.
void lru_crawler_metadump(Session& s, LruCrawler& crawler, std::string_view classes) {
  {
    std::lock_guard lock(s.ctx().engine.mutex);
    if (!crawler.enabled()) {
      s.reply("CLIENT_ERROR lru crawler disabled\r\n");
      return;
    }
    if (!s.ctx().config.ops.dump_enabled) {
      s.reply("ERROR metadump not allowed\r\n");
      return;
    }
    // memcached hands the connection to its crawler thread: replies still
    // unsent would be lost.
    if (s.responses().has_ready_bytes() || s.responses().has_pending()) {
      s.reply("ERROR cannot pipeline other commands before metadump\r\n");
      return;
    }
    if (crawler.running()) {
      s.reply("BUSY currently processing crawler request\r\n");
      return;
    }
  }
  Metadump dump;
  if (!dump.start(classes)) {
    s.reply("BADCLASS invalid class id\r\n");
    return;
  }
  s.start_dump(dump);
}

std::string_view reassign_reply(SlabReassignResult result) {
  switch (result) {
    case SlabReassignResult::kOk:
      return "OK\r\n";
    case SlabReassignResult::kBusy:
      return "BUSY currently processing reassign request\r\n";
    case SlabReassignResult::kBadClass:
      return "BADCLASS invalid src or dst class id\r\n";
    case SlabReassignResult::kNoSpare:
      return "NOSPARE source class has no spare pages\r\n";
    case SlabReassignResult::kSrcDstSame:
      break;
  }
  return "SAME src and dst class are identical\r\n";
}

void slabs_reassign(Session& s, const std::vector<std::string_view>& t) {
  SharedEngine& shared = s.ctx().engine;
  if (!shared.engine.config().slab_reassign) {
    s.reply("CLIENT_ERROR slab reassignment disabled\r\n");
    return;
  }
  int32_t src = 0;
  int32_t dst = 0;
  if (!parse_int32(t[2], src) || !parse_int32(t[3], dst)) {
    s.reply("CLIENT_ERROR bad command line format\r\n");
    return;
  }
  SlabReassignResult result;
  {
    std::lock_guard lock(shared.mutex);
    result = reassign_slab_page(shared.engine, src, dst);
  }
  s.reply(reassign_reply(result));
}

void slabs_automove(Session& s, const std::vector<std::string_view>& t) {
  SharedEngine& shared = s.ctx().engine;
  noreply_maybe(s, t);
  if (t[2] == "ratio") {
    double ratio = 0;
    if (t.size() < 4 || !parse_double(t[3], ratio)) {
      s.reply("ERROR\r\n");
      return;
    }
    std::lock_guard lock(shared.mutex);
    set_slab_automove_ratio(shared.engine, ratio);
  } else {
    uint32_t level = 0;
    if (!parse_uint32(t[2], level)) {
      s.reply("CLIENT_ERROR bad command line format\r\n");
      return;
    }
    if (level > 2) {
      s.reply("ERROR\r\n");
      return;
    }
    std::lock_guard lock(shared.mutex);
    set_slab_automove(shared.engine, level);
  }
  s.reply("OK\r\n");
}

void lru_tune(Session& s, const std::vector<std::string_view>& t) {
  uint32_t hot_pct = 0;
  uint32_t warm_pct = 0;
  double hot_factor = 0;
  double warm_factor = 0;
  if (!parse_uint32(t[2], hot_pct) || !parse_uint32(t[3], warm_pct) ||
      !parse_double(t[4], hot_factor) || !parse_double(t[5], warm_factor)) {
    s.reply("ERROR\r\n");
    return;
  }
  SharedEngine& shared = s.ctx().engine;
  LruTuneResult result;
  {
    std::lock_guard lock(shared.mutex);
    result = tune_lru(shared.engine, hot_pct, warm_pct, hot_factor, warm_factor);
  }
  switch (result) {
    case LruTuneResult::kOk:
      s.reply("OK\r\n");
      break;
    case LruTuneResult::kPctsAbove80:
      s.reply("ERROR hot and warm pcts must not exceed 80\r\n");
      break;
    case LruTuneResult::kFactorNotPositive:
      s.reply("ERROR hot/warm age factors must be greater than 0\r\n");
      break;
  }
}

}  // namespace

void slabs_command(Session& s, const std::vector<std::string_view>& t) {
  if (t.size() == 4 && t[1] == "reassign") {
    slabs_reassign(s, t);
  } else if (t.size() >= 3 && t[1] == "automove") {
    slabs_automove(s, t);
  } else {
    s.reply("ERROR\r\n");
  }
}

void lru_command(Session& s, const std::vector<std::string_view>& t) {
  noreply_maybe(s, t);
  SharedEngine& shared = s.ctx().engine;
  // `mode` and `temp_ttl` need the LRU maintainer, as in memcached.
  const bool maintainer = shared.engine.config().lru_maintainer;
  if (t.size() >= 6 && t[1] == "tune") {
    lru_tune(s, t);
  } else if (t.size() >= 3 && t[1] == "mode" && maintainer) {
    if (t[2] != "flat" && t[2] != "segmented") {
      s.reply("ERROR\r\n");
      return;
    }
    std::lock_guard lock(shared.mutex);
    set_lru_segmented(shared.engine, t[2] == "segmented");
    s.reply("OK\r\n");
  } else if (t.size() >= 3 && t[1] == "temp_ttl" && maintainer) {
    int32_t ttl = 0;
    if (!parse_int32(t[2], ttl)) {
      s.reply("ERROR\r\n");
      return;
    }
    std::lock_guard lock(shared.mutex);
    set_temporary_ttl(shared.engine, ttl);
    s.reply("OK\r\n");
  } else {
    s.reply("ERROR\r\n");
  }
}

void cache_memlimit_command(Session& s, const std::vector<std::string_view>& t) {
  if (t.size() != 2 && t.size() != 3) {
    s.reply("ERROR\r\n");
    return;
  }
  noreply_maybe(s, t);
  uint32_t megabytes = 0;
  if (!parse_uint32(t[1], megabytes)) {
    s.reply("ERROR\r\n");
  } else if (megabytes < 8) {
    s.reply("MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n");
  } else if (megabytes > 1'000'000'000) {
    s.reply("MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n");
  } else {
    SharedEngine& shared = s.ctx().engine;
    std::lock_guard lock(shared.mutex);
    if (set_memory_limit(shared.engine, uint64_t{megabytes} << 20)) {
      s.reply("OK\r\n");
    } else {
      // -L or -e: memcached cannot resize preallocated memory.
      s.reply("MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n");
    }
  }
}

void extstore_command(Session& s, const std::vector<std::string_view>& t) {
  noreply_maybe(s, t);
  if (t.size() < 3) {
    s.reply("ERROR\r\n");
    return;
  }
  SharedEngine& shared = s.ctx().engine;
  std::string error;
  {
    std::lock_guard lock(shared.mutex);
    error = shared.flash == nullptr ? "no extstore" : shared.flash->set_option(t[1], t[2]);
  }
  s.reply(error.empty() ? "OK\r\n" : "ERROR\r\n");
}

// Token counts as memcached 1.6.18's process_lru_crawler_command: anything
// else is ERROR. No noreply.
void lru_crawler_command(Session& s, const std::vector<std::string_view>& t) {
  SharedEngine& shared = s.ctx().engine;
  LruCrawler* crawler = shared.crawler;
  if (crawler == nullptr) {
    s.reply("ERROR\r\n");
  } else if (t.size() == 3 && t[1] == "crawl") {
    CrawlerResult result;
    {
      std::lock_guard lock(shared.mutex);
      if (!crawler->enabled()) {
        s.reply("CLIENT_ERROR lru crawler disabled\r\n");
        return;
      }
      result = crawler->crawl(t[2]);
    }
    s.reply(crawl_reply(result));
  } else if (t.size() == 3 && t[1] == "metadump") {
    lru_crawler_metadump(s, *crawler, t[2]);
  } else if (t.size() == 3 && (t[1] == "tocrawl" || t[1] == "sleep")) {
    lru_crawler_setting(s, *crawler, t[1], t[2]);
  } else if (t.size() == 2 && t[1] == "enable") {
    bool started;
    {
      std::lock_guard lock(shared.mutex);
      started = crawler->enable();
    }
    s.reply(started ? "OK\r\n" : "ERROR failed to start lru crawler thread\r\n");
  } else if (t.size() == 2 && t[1] == "disable") {
    {
      std::lock_guard lock(shared.mutex);
      crawler->disable();
    }
    s.reply("OK\r\n");
  } else {
    s.reply("ERROR\r\n");
  }
}

void refresh_certs_command(Session& s, const std::vector<std::string_view>& t) {
  TlsContext* tls = s.ctx().tls;
  // memcached answers this one even with noreply.
  if (tls == nullptr) {
    s.reply_error("Error TLS not enabled\r\n");
    return;
  }
  noreply_maybe(s, t);
  rel_time_t now;
  {
    std::lock_guard lock(s.ctx().engine.mutex);
    now = s.ctx().engine.engine.current_time();
  }
  const std::string error = tls->refresh(now);
  s.reply(error.empty() ? std::string("OK\r\n") : error + "\r\n");
}

}  // namespace memext::server
