// Multiget-style batches (plan all, then finish) with other commands in
// between, a worker reading the ext_path file with its own O_DIRECT handle,
// and the two fragmentation policies.
#include <fcntl.h>
#include <unistd.h>

#include "storage_rig.h"

using namespace memext;
using namespace memext::testing;

namespace {

void fill(Rig& rig, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    REQUIRE(rig.set(key_for(i), value_for(i, 10000)).result == StoreResult::kStored);
    if (i % 24 == 23) rig.flush_all_to_flash();
  }
  rig.flush_all_to_flash();
}

}  // namespace

TEST_CASE("a batch of planned reads survives deletes and overwrites made before it finishes") {
  Rig rig(RigDevice::kMemory);
  fill(rig, 0, 48);
  std::vector<GetResult> headers;
  std::vector<FlashRead> reads;
  for (int i = 0; i < 6; ++i) {
    headers.push_back(rig.engine().get(key_for(i)));
    REQUIRE(headers.back().source == HitSource::kFlashHeader);
    reads.push_back(rig.ext().plan_read(key_for(i), headers.back()));
    REQUIRE(reads.back().kind == FlashReadKind::kDevice);
  }
  // Meanwhile another client deletes key 1 and overwrites key 2.
  REQUIRE(rig.engine().remove(key_for(1)) == DeleteResult::kDeleted);
  REQUIRE(rig.set(key_for(2), "newer").result == StoreResult::kStored);
  for (int i = 0; i < 6; ++i) {
    const FlashRead& read = reads[i];
    char* buf = alloc_aligned(read.length);
    IoRequest req{IoOp::kRead, read.offset, read.length, buf};
    const int64_t rc = submit_and_wait(*read.device, &req);
    // Key 2's read comes back short: the miss must not unlink the new value.
    const int64_t result = i == 2 ? rc - 1 : rc;
    const ReadOutcome outcome = rig.ext().finish_read(key_for(i), headers[i], read, buf, result);
    if (i == 2) {
      CHECK(outcome.status == ReadStatus::kMiss);
    } else {
      // memcached answers from the object it started reading.
      CHECK(outcome.hit());
      CHECK((std::string(outcome.value) == value_for(i, 10000)));
    }
    free_aligned(buf);
  }
  CHECK(rig.read_is(key_for(1), "<miss>"));
  CHECK(rig.read_is(key_for(2), "newer"));
  CHECK(rig.ext().stats().store.objects_used == 48 - 2);
}

TEST_CASE("a worker can read planned ranges through its own O_DIRECT handle on the file") {
  Rig rig(RigDevice::kUring);
  if (!rig.ok()) {
    MESSAGE("skipping io_uring: " << rig.skipped());
    return;
  }
  fill(rig, 0, 48);
  const int fd = ::open(rig.ext().file_path(0).c_str(), O_RDONLY | O_DIRECT);
  REQUIRE(fd >= 0);
  for (int i = 0; i < 24; ++i) {
    const GetResult header = rig.engine().get(key_for(i));
    const FlashRead read = rig.ext().plan_read(key_for(i), header);
    REQUIRE(read.kind == FlashReadKind::kDevice);
    CHECK(read.file_index == 0);
    char* buf = alloc_aligned(read.length);
    const ssize_t n = ::pread(fd, buf, read.length, static_cast<off_t>(read.offset));
    const ReadOutcome outcome = rig.ext().finish_read(key_for(i), header, read, buf, n);
    CHECK(outcome.hit());
    CHECK((std::string(outcome.value) == value_for(i, 10000)));
    free_aligned(buf);
  }
  ::close(fd);
}

TEST_CASE("the slewed policy lowers the fragmentation limit by the free pages; fixed does not") {
  for (ExtFragPolicy policy : {ExtFragPolicy::kSlewed, ExtFragPolicy::kFixed}) {
    CAPTURE(static_cast<int>(policy));
    EngineConfig config = rig_engine_config(false);
    config.ext.frag_policy = policy;
    // 9 pages, 8 usable: the compact bucket's page leaves one free, so the
    // compactor's maintenance pass evicts nothing.
    config.ext.paths[0].size_bytes = 9 * kExtPage;
    Rig rig(RigDevice::kMemory, config);
    fill(rig, 0, 24 * 6);  // 6 of 8 pages; 2 free (ext_compact_under 9/4 = 2)
    // Page 1 keeps 19 of 24 objects (~191 KB of 256 KB): under the fixed
    // limit (0.8 x 256 KB = 205 KB), over the slewed one (x 7/9 = 159 KB).
    for (int i = 0; i < 5; ++i) REQUIRE(rig.engine().remove(key_for(i)) == DeleteResult::kDeleted);
    const int compacted = rig.compact();
    const ExtStoreStats st = rig.ext().stats();
    if (policy == ExtFragPolicy::kFixed) {
      CHECK(compacted >= 1);
      CHECK(st.compact_rescues >= 19);
    } else {
      CHECK(compacted == 0);
      CHECK(st.compact_rescues == 0);
    }
    for (int i = 5; i < 24 * 6; ++i) CHECK(rig.read_is(key_for(i), value_for(i, 10000)));
  }
}

TEST_CASE("no compaction while more than ext_compact_under pages are free") {
  Rig rig(RigDevice::kMemory);
  fill(rig, 0, 24 * 3);  // 3 of 7 pages: 4 free > compact_under 2
  for (int i = 0; i < 20; ++i) REQUIRE(rig.engine().remove(key_for(i)) == DeleteResult::kDeleted);
  CHECK(rig.compact() == 0);
  CHECK(rig.ext().set_option("compact_under", "4").empty());
  CHECK(rig.compact() >= 1);
  CHECK(rig.ext().stats().compact_rescues == 4);
}
