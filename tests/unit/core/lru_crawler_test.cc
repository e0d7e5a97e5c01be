// The LRU crawler: memcached 1.6.18's crawler.c walk (expired and flushed
// items reclaimed, counted into stats items when an LRU's crawl ends), the
// autoexpire schedule of items.c's lru_maintainer_crawler_check, BUSY and
// BADCLASS, the tocrawl cap, the cursor kept across engine operations and
// the -o lru_crawler* options.
#include <doctest/doctest.h>

#include <string>

#include "memext/lru_crawler.h"
#include "memext/options.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

// Manual crawls only: no maintainer, so items stay in HOT and no autoexpire
// crawl starts behind the test's back.
EngineConfig manual_config() {
  EngineConfig config = small_config();
  config.lru_maintainer = false;
  return config;
}

Stats crawled_stats(Engine& engine, const LruCrawler& crawler) {
  Stats st = engine.stats();
  crawler.add_stats(st);
  return st;
}

const ItemClassStats* items_of(const Stats& st, uint32_t id) {
  for (const ItemClassStats& c : st.items) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

// Steps (1 ms apart) until the crawl in progress is over; returns the steps.
int run_crawl(LruCrawler& crawler, Micros& now) {
  int steps = 0;
  while (crawler.running()) {
    now = crawler.step(now) + 1'000;
    ++steps;
  }
  return steps;
}

std::string key(int i) {
  return "key" + std::to_string(i);
}

// Drives the crawler as the maintainer's once-a-second check would: engine
// second t, then every step until the crawls it started are over.
struct SecondByEngineSecond {
  SecondByEngineSecond(Engine& e, LruCrawler& c) : engine(e), crawler(c) {}
  void run_second() {
    engine.set_time(t);
    crawler.step(now);
    while (crawler.running()) now = crawler.step(now);
    now += 1'000'000;
    ++t;
  }
  Engine& engine;
  LruCrawler& crawler;
  rel_time_t t = 2;
  Micros now = 0;
};

}  // namespace

TEST_CASE("a crawl reclaims expired items in the middle of an LRU, and only when it runs") {
  Engine engine(manual_config());
  engine.set_time(100);
  LruCrawler crawler(engine);
  store(engine, StoreMode::kSet, "old", "v");
  store(engine, StoreMode::kSet, "short1", "v", 0, 0, 10);  // expires after 110
  store(engine, StoreMode::kSet, "mid", "v");
  store(engine, StoreMode::kSet, "short2", "v", 0, 0, 10);
  store(engine, StoreMode::kSet, "edge", "v", 0, 0, 20);  // exptime 120: alive at 120
  store(engine, StoreMode::kSet, "new", "v");
  GetOptions peek;
  peek.bump = true;
  CHECK(engine.get("short2", peek).hit());  // fetched: reclaimed but not expired_unfetched

  engine.set_time(120);
  CHECK(engine.stats().curr_items == 6);
  REQUIRE(crawler.crawl("1") == CrawlerResult::kOk);
  CHECK(crawler.running());
  // Nothing happens before a step runs.
  Stats before = crawled_stats(engine, crawler);
  CHECK(before.curr_items == 6);
  CHECK(before.crawler_reclaimed == 0);
  CHECK(before.lru_crawler_running == 1);
  CHECK(before.lru_crawler_starts == 1);

  Micros now = 0;
  CHECK(run_crawl(crawler, now) == 1);
  const Stats st = crawled_stats(engine, crawler);
  CHECK(st.curr_items == 4);
  CHECK(st.crawler_reclaimed == 2);
  CHECK(st.crawler_items_checked == 6);
  CHECK(st.expired_unfetched == 1);
  CHECK(st.get_expired == 0);
  CHECK(st.lru_crawler_running == 0);
  const ItemClassStats* c1 = items_of(st, 1);
  REQUIRE(c1 != nullptr);
  CHECK(c1->number == 4);
  CHECK(c1->crawler_reclaimed == 2);
  CHECK(c1->crawler_items_checked == 6);
  CHECK(c1->expired_unfetched == 1);
  CHECK(value_of(engine, "mid") == "v");
  // "edge" (exptime == now) outlived the crawl, though a get expires it.
  CHECK(value_of(engine, "edge") == "<miss>");
  CHECK(engine.stats().get_expired == 1);
}

TEST_CASE("flushed items are reclaimed by a crawl and not counted as expired_unfetched") {
  Engine engine(manual_config());
  engine.set_time(50);
  LruCrawler crawler(engine);
  for (int i = 0; i < 5; ++i) store(engine, StoreMode::kSet, key(i), "v");
  engine.flush_all(0);
  store(engine, StoreMode::kSet, "after", "v");
  engine.set_time(51);
  REQUIRE(crawler.crawl("all") == CrawlerResult::kOk);
  Micros now = 0;
  run_crawl(crawler, now);
  const Stats st = crawled_stats(engine, crawler);
  CHECK(st.curr_items == 1);
  CHECK(st.crawler_reclaimed == 5);
  CHECK(st.crawler_items_checked == 6);
  CHECK(st.expired_unfetched == 0);
}

TEST_CASE("the crawler sleeps every crawls_persleep items and is BUSY meanwhile") {
  Engine engine(manual_config());
  engine.set_time(10);
  LruCrawler crawler(engine);
  for (int i = 0; i < 2500; ++i) store(engine, StoreMode::kSet, key(i), "v", 0, 0, 5);
  engine.set_time(20);
  REQUIRE(crawler.crawl("1") == CrawlerResult::kOk);
  // Sleeps after item 1001 (memcached's post-decrement countdown from 1000).
  CHECK(crawler.step(5'000) == 5'100);
  CHECK(crawler.items_visited() == 1001);
  CHECK(crawler.crawl("all") == CrawlerResult::kRunning);
  CHECK(crawler.crawl("2") == CrawlerResult::kRunning);
  CHECK(crawler.step(5'100) == 5'200);
  CHECK(crawler.items_visited() == 2002);
  Micros now = 5'200;
  run_crawl(crawler, now);
  const Stats st = crawled_stats(engine, crawler);
  CHECK(st.curr_items == 0);
  CHECK(st.crawler_reclaimed == 2500);
  CHECK(st.lru_crawler_starts == 1);
  CHECK(crawler.crawl("1") == CrawlerResult::kOk);
}

TEST_CASE("with lru_crawler_sleep 0 a crawl still yields after each batch, without waiting") {
  Engine engine(manual_config());
  engine.set_time(10);
  LruCrawler crawler(engine);
  for (int i = 0; i < 2500; ++i) store(engine, StoreMode::kSet, key(i), "v");
  crawler.set_sleep(0);
  REQUIRE(crawler.crawl("1") == CrawlerResult::kOk);
  CHECK(crawler.step(7'000) == 7'000);
  CHECK(crawler.items_visited() == 1001);
  CHECK(crawler.step(7'000) == 7'000);
  CHECK(crawler.items_visited() == 2002);
  crawler.step(7'000);
  CHECK_FALSE(crawler.running());
  CHECK(crawled_stats(engine, crawler).crawler_items_checked == 2500);
}

TEST_CASE("lru_crawler tocrawl caps the items looked at per LRU") {
  Engine engine(manual_config());
  engine.set_time(10);
  LruCrawler crawler(engine);
  for (int i = 0; i < 10; ++i) store(engine, StoreMode::kSet, key(i), "v", 0, 0, 5);
  engine.set_time(20);
  crawler.set_tocrawl(4);
  CHECK(engine.config().lru_crawler_tocrawl == 4);
  REQUIRE(crawler.crawl("1") == CrawlerResult::kOk);
  Micros now = 0;
  run_crawl(crawler, now);
  Stats st = crawled_stats(engine, crawler);
  CHECK(st.crawler_reclaimed == 4);
  CHECK(st.crawler_items_checked == 4);
  CHECK(st.curr_items == 6);
  // From the tail: the oldest four went.
  CHECK(engine.stats().curr_items == 6);
  crawler.set_tocrawl(0);
  REQUIRE(crawler.crawl("1") == CrawlerResult::kOk);
  run_crawl(crawler, now);
  st = crawled_stats(engine, crawler);
  CHECK(st.crawler_reclaimed == 10);
  CHECK(st.crawler_items_checked == 10);
}

TEST_CASE("class lists are parsed as memcached's strtok and safe_strtoul do") {
  Engine engine(manual_config());
  engine.set_time(10);
  LruCrawler crawler(engine);
  Micros now = 0;
  for (const char* bad : {"0", "64", "1,x", "-1", "ALL", "1;2", "0x1", "+"}) {
    INFO(bad);
    CHECK(crawler.crawl(bad) == CrawlerResult::kBadClass);
  }
  CHECK(crawler.crawl(std::string(",")) == CrawlerResult::kNotStarted);
  CHECK(crawler.starts() == 0);
  for (const char* good : {"1", "63", "1,,2", "+1", "1,", "01", "4294967297", "all"}) {
    INFO(good);
    CHECK(crawler.crawl(good) == CrawlerResult::kOk);
    run_crawl(crawler, now);
  }
  CHECK(crawler.starts() == 8);
}

TEST_CASE("a crawl's cursor survives operations and ends when its next item leaves the LRU") {
  for (const bool remove_next : {false, true}) {
    INFO("remove_next=" << remove_next);
    Engine engine(manual_config());
    engine.set_time(10);
    LruCrawler crawler(engine);
    for (int i = 0; i < 3000; ++i) store(engine, StoreMode::kSet, key(i), "v");
    REQUIRE(crawler.crawl("1") == CrawlerResult::kOk);
    crawler.step(0);
    REQUIRE(crawler.items_visited() == 1001);  // key0 (the tail) .. key1000
    // Between steps: a new item at the head, and a delete.
    store(engine, StoreMode::kSet, "late", "v");
    CHECK(engine.remove(remove_next ? key(1001) : key(2000)) == DeleteResult::kDeleted);
    Micros now = 100;
    run_crawl(crawler, now);
    const Stats st = crawled_stats(engine, crawler);
    CHECK(st.crawler_items_checked == (remove_next ? 1001 : 3000));
    CHECK(st.crawler_reclaimed == 0);
  }
}

TEST_CASE("autoexpire: the first crawl starts at once, then waits a minute longer each time") {
  EngineConfig config = small_config();
  Engine engine(config);
  LruCrawler crawler(engine);
  SecondByEngineSecond clock(engine, crawler);
  rel_time_t& t = clock.t;
  clock.run_second();  // second 2: every LRU crawled (all empty)
  CHECK(crawler.starts() == 1);
  // Second 3 sees the empty histogram: wait 60, next crawl after 3 + 65.
  while (t <= 68) clock.run_second();
  CHECK(crawler.starts() == 1);
  clock.run_second();  // 69
  CHECK(crawler.starts() == 2);
  // Second 70: wait 120, next crawl after 70 + 125.
  while (t <= 195) clock.run_second();
  CHECK(crawler.starts() == 2);
  clock.run_second();  // 196
  CHECK(crawler.starts() == 3);
}

TEST_CASE("autoexpire reclaims expired items and crawls again sooner while items expire") {
  EngineConfig config = small_config();
  Engine engine(config);
  LruCrawler crawler(engine);
  SecondByEngineSecond clock(engine, crawler);
  rel_time_t& t = clock.t;
  clock.run_second();
  // Items expiring over the next minutes.
  for (int i = 0; i < 300; ++i) store(engine, StoreMode::kSet, key(i), "v", 0, 0, 30 + i);
  while (t < 400) clock.run_second();
  const Stats st = crawled_stats(engine, crawler);
  // Every item has expired by 332; the autocrawler found the ones no get did.
  CHECK(st.curr_items == 0);
  CHECK(st.crawler_reclaimed == 300);
  CHECK(st.expired_unfetched == 300);
  // More crawls than the idle schedule's two in this time (at 2 and ~69).
  CHECK(crawler.starts() > 3);
}

TEST_CASE("autoexpire: items expiring within the minute bring the next crawl down to 5 s") {
  EngineConfig config = small_config();
  Engine engine(config);
  LruCrawler crawler(engine);
  SecondByEngineSecond clock(engine, crawler);
  rel_time_t& t = clock.t;
  clock.run_second();  // 2: the empty first crawl
  for (int i = 0; i < 300; ++i) store(engine, StoreMode::kSet, key(i), "v", 0, 0, 120);
  while (t <= 68) clock.run_second();  // 3 schedules the next crawl after 68
  CHECK(crawler.starts() == 1);
  clock.run_second();  // 69: 300 items seen, all expiring within the minute (at 122)
  CHECK(crawler.starts() == 2);
  // 70: 300 > 300 / 100 + 1 in the first minute bucket, so the wait drops
  // from 60 to 0: the next crawl after 75 (memcached logs next_run=5).
  while (t <= 75) clock.run_second();
  CHECK(crawler.starts() == 2);
  clock.run_second();  // 76
  CHECK(crawler.starts() == 3);
  // 77: the wait stays 0, next after 82.
  while (t <= 82) clock.run_second();
  CHECK(crawler.starts() == 3);
  clock.run_second();  // 83
  CHECK(crawler.starts() == 4);
  CHECK(crawled_stats(engine, crawler).crawler_reclaimed == 0);
}

TEST_CASE("an autoexpire start refused by a manual crawl keeps the autocrawler off for a minute") {
  EngineConfig config = small_config();
  Engine engine(config);
  engine.set_time(1);
  LruCrawler crawler(engine);
  for (int i = 0; i < 5000; ++i) store(engine, StoreMode::kSet, key(i), "v");
  REQUIRE(crawler.crawl("1") == CrawlerResult::kOk);
  engine.set_time(2);
  Micros now = crawler.step(0);  // the first autoexpire check is refused: blocked until 62
  CHECK(crawler.starts() == 1);
  while (crawler.running()) now = crawler.step(now);
  // The check retries every 5 seconds (8, 14, ... 56) and starts at 62.
  for (rel_time_t t = 3; t <= 61; ++t) {
    engine.set_time(t);
    now = crawler.step(now);
  }
  CHECK(crawler.starts() == 1);
  engine.set_time(62);
  crawler.step(now);
  CHECK(crawler.starts() == 2);
}

TEST_CASE("enable and disable, and the -o lru_crawler options") {
  Engine engine(manual_config());
  LruCrawler crawler(engine);
  CHECK(crawler.enabled());
  CHECK_FALSE(crawler.enable());
  crawler.disable();
  CHECK_FALSE(crawler.enabled());
  CHECK(crawler.enable());

  EngineConfig config;
  CHECK(config.lru_crawler);
  CHECK(config.lru_crawler_sleep == 100);
  CHECK(config.lru_crawler_tocrawl == 0);
  CHECK(apply_memcached_suboptions(config, "no_lru_crawler,lru_crawler_sleep=0").ok());
  CHECK_FALSE(config.lru_crawler);
  CHECK(config.lru_crawler_sleep == 0);
  CHECK(apply_memcached_suboptions(config, "lru_crawler,lru_crawler_tocrawl=500").ok());
  CHECK(config.lru_crawler);
  CHECK(config.lru_crawler_tocrawl == 500);
  const OptionResult bad = apply_memcached_option(config, "lru_crawler_sleep", "1000001");
  CHECK(bad.status == OptionStatus::kInvalidValue);
  CHECK(bad.error.find("1000001") != std::string::npos);
  CHECK(apply_memcached_option(config, "lru_crawler_tocrawl", "x").status ==
        OptionStatus::kInvalidValue);
  CHECK(apply_memcached_option(config, "no_modern", "").ok());
  CHECK_FALSE(config.lru_crawler);
}
