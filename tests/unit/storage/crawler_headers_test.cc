// The LRU crawler and extstore: a header whose flash page was evicted and
// reused is dropped by a crawl (memcached's storage_validate_item), a header
// whose object is still on flash stays.
#include <string>

#include "memext/lru_crawler.h"
#include "storage_rig.h"

using namespace memext;
using namespace memext::testing;

TEST_CASE("a crawl drops the headers whose flash page is gone, and only those") {
  for (RigDevice kind : {RigDevice::kMemory, RigDevice::kPhantom}) {
    CAPTURE(std::string(rig_name(kind)));
    Rig rig(kind);
    // 9 pages of objects into 7 usable pages.
    const int n = fill_flash_pages(rig, 24 * 9);
    const ExtStoreStats st = rig.ext().stats();
    REQUIRE(st.store.page_evictions >= 2);
    const uint64_t dangling = st.store.objects_evicted;
    REQUIRE(rig.engine().stats().curr_items == static_cast<uint64_t>(n));

    LruCrawler crawler(rig.engine());
    REQUIRE(crawler.crawl("all") == CrawlerResult::kOk);
    Micros now = rig.micros();
    while (crawler.running()) now = crawler.step(now);
    Stats after = rig.engine().stats();
    crawler.add_stats(after);
    CHECK(after.crawler_reclaimed == dangling);
    CHECK(after.curr_items == n - dangling);
    // The survivors still read back; the objects' counts on flash are
    // unchanged (their pages were already gone).
    CHECK(rig.read_is(key_for(n - 1),
                      kind == RigDevice::kPhantom ? "<flash>" : value_for(n - 1, 10000)));
    CHECK(rig.ext().stats().store.objects_used == st.store.objects_used);
  }
}
