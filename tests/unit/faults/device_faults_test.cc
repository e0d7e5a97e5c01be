// Device faults through the Device seam (faulty_device.h): whatever the
// flash device does wrong, a get answers the value that was set, a miss, or
// the value kept in RAM, and the fault shows in memcached's counters
// (miss_from_extstore, badcrc_from_extstore, extstore_write_errors). Never
// another value.
#include <doctest/doctest.h>

#include <string>

#include "fault_rig.h"

using namespace memext;
using namespace memext::testing;

namespace {

// ~200 KB: three full 64 KB wbufs go to the device, the rest stays buffered.
constexpr int kItems = 200;
constexpr size_t kValueLen = 900;

std::string value_of(int i, int round = 0) {
  return value_for(i + 1000 * round, kValueLen);
}

void set_items(FaultRig& rig, int round = 0) {
  for (int i = 0; i < kItems; ++i) {
    REQUIRE(rig.set(key_for(i), value_of(i, round)).result == StoreResult::kStored);
  }
}

// Every key reads as its value of `round` or misses; returns the misses.
int check_value_or_miss(FaultRig& rig, int round = 0) {
  int misses = 0;
  for (int i = 0; i < kItems; ++i) {
    CAPTURE(i);
    const std::string got = rig.read(key_for(i));
    if (got == "<miss>") {
      ++misses;
    } else {
      CHECK(got == value_of(i, round));
    }
  }
  return misses;
}

}  // namespace

TEST_CASE("a read that fails or comes back short is a counted miss, and stays one") {
  for (Fault fault : {Fault::kReadError, Fault::kShortRead}) {
    CAPTURE(static_cast<int>(fault));
    FaultRig rig(true);
    set_items(rig);
    rig.flush_all_to_flash();
    REQUIRE(rig.peek(key_for(0)).source == HitSource::kFlashHeader);

    rig.device().arm(fault);
    const int misses = check_value_or_miss(rig);
    // Objects still in the filling wbuf need no device read.
    CHECK(rig.device().injected() > kItems / 2);
    CHECK(misses == static_cast<int>(rig.device().injected()));
    const ExtStoreStats st = rig.stats();
    CHECK(st.get_extstore == kItems);
    CHECK(st.miss_from_extstore == static_cast<uint64_t>(misses));
    CHECK(st.badcrc_from_extstore == 0);

    // The header is gone with the failed read: no retry can serve old bytes.
    rig.device().disarm();
    CHECK(check_value_or_miss(rig) == misses);
  }
}

TEST_CASE("a flipped bit anywhere in an object read back is a badcrc miss, never other bytes") {
  FaultRig rig(true);
  set_items(rig);
  rig.flush_all_to_flash();
  const uint32_t object_len = rig.peek(key_for(0)).location.len;
  REQUIRE(object_len > kValueLen);

  // The memory device needs no alignment, so a read covers exactly the
  // object: flip one bit at a different place of each, header to padding.
  int covered = 0;
  int misses = 0;
  for (int i = 0; i < kItems; ++i) {
    CAPTURE(i);
    const GetResult where = rig.peek(key_for(i));
    REQUIRE(where.source == HitSource::kFlashHeader);
    const uint64_t flip_at = uint64_t{where.location.len} * i / kItems;
    // Header (36 bytes), key and value are under the crc; the rest is padding.
    const bool under_crc = flip_at < 36 + key_for(i).size() + kValueLen;
    rig.device().set_flip_at(flip_at);
    rig.device().arm(Fault::kBitFlip, 1);
    const uint64_t before = rig.device().injected();
    const std::string got = rig.read(key_for(i));
    rig.device().disarm();
    if (rig.device().injected() == before) continue;  // served from a wbuf
    if (got == "<miss>") {
      ++misses;
    } else {
      CHECK(got == value_of(i));
    }
    if (under_crc) {
      ++covered;
      CHECK(got == "<miss>");
    }
  }
  CHECK(covered > kItems / 2);
  const ExtStoreStats st = rig.stats();
  CHECK(st.badcrc_from_extstore == static_cast<uint64_t>(misses));
  CHECK(st.miss_from_extstore == static_cast<uint64_t>(misses));
}

TEST_CASE("a read served from another page's bytes is a miss") {
  FaultRig rig(true);
  set_items(rig);
  rig.flush_all_to_flash();
  // Same offset, the neighbouring page: other keys' objects, or nothing.
  rig.device().set_redirect(static_cast<int64_t>(kExtPage));
  rig.device().arm(Fault::kOtherPage);
  const int misses = check_value_or_miss(rig);
  CHECK(rig.device().injected() > kItems / 2);
  CHECK(misses == static_cast<int>(rig.device().injected()));
  CHECK(rig.stats().miss_from_extstore == static_cast<uint64_t>(misses));
}

TEST_CASE("a read served from an older copy of the same key (a lost write) is a miss") {
  FaultRig rig(true);
  const std::string key = key_for(7);
  set_items(rig, 0);
  rig.flush_all_to_flash();
  const ExtLocation old_copy = rig.peek(key).location;
  REQUIRE(rig.peek(key).source == HitSource::kFlashHeader);

  // The same key and value length again, flushed to another place: the old
  // object stays on the device, byte for byte valid, crc and all.
  set_items(rig, 1);
  rig.flush_all_to_flash();
  const GetResult now = rig.peek(key);
  REQUIRE(now.source == HitSource::kFlashHeader);
  REQUIRE(now.location.len == old_copy.len);
  REQUIRE(!(now.location == old_copy));
  const auto device_offset = [](const ExtLocation& l) {
    return static_cast<int64_t>(uint64_t{l.page_id} * kExtPage + l.offset);
  };

  rig.device().set_redirect(device_offset(old_copy) - device_offset(now.location));
  rig.device().arm(Fault::kOtherPage, 1);
  CHECK(rig.read(key) == "<miss>");
  CHECK(rig.stats().miss_from_extstore == 1);
}

TEST_CASE("failed wbuf writes lose their objects as counted misses; the store recovers") {
  for (bool async : {false, true}) {
    for (Fault fault : {Fault::kWriteError, Fault::kNoSpace, Fault::kShortWrite}) {
      CAPTURE(async);
      CAPTURE(static_cast<int>(fault));
      FaultRig rig(async);
      set_items(rig);
      rig.device().arm(fault);
      rig.flush_all_to_flash();
      const uint64_t failed = rig.stats().store.write_errors;
      CHECK(failed > 0);
      CHECK(failed == rig.device().injected());
      const int misses = check_value_or_miss(rig);
      CHECK(misses > 0);
      CHECK(rig.stats().miss_from_extstore == static_cast<uint64_t>(misses));

      // The device works again: new values go to flash and read back.
      rig.device().disarm();
      set_items(rig, 1);
      rig.flush_all_to_flash();
      CHECK(rig.stats().store.write_errors == failed);
      CHECK(rig.peek(key_for(0)).source == HitSource::kFlashHeader);
      CHECK(check_value_or_miss(rig, 1) == 0);
    }
  }
}
