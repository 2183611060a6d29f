// Copyright EMPI developers.
//
// codec_internal.h: the primitive field encodings shared by index/ codecs.
// Not part of the public surface; see docs/format/store.md for the layout.
//
//   std::string out;
//   internal::PutString(&out, "Nowak");
//   internal::Reader in(out);
//   std::string name;
//   bool ok = in.String(&name) && in.done();
//
// Thread-safety: plain functions; a Reader is used by one thread.
#ifndef EMPI_INDEX_CODEC_INTERNAL_H_
#define EMPI_INDEX_CODEC_INTERNAL_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace empi::index::internal {

// The first byte of every value. Part of the persistent format.
inline constexpr uint8_t kValueVersion = 1;

void PutVarint(std::string* out, uint64_t v);          // LEB128, at most 10 bytes
void PutString(std::string* out, std::string_view s);  // varint length + bytes
void PutSigned(std::string* out, int64_t v);           // zig-zag varint
void PutDouble(std::string* out, double d);            // 8 bytes big-endian bits

// Consumes fields from the front of a value. Each method returns false (and
// leaves its output unspecified) when the input is truncated or malformed.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool Version();  // the leading version byte equals kValueVersion
  bool Varint(uint64_t* v);
  bool Signed(int64_t* v);
  bool String(std::string* s);
  bool StringView(std::string_view* s);  // points into the input
  bool Byte(uint8_t* b);
  bool Bool(bool* b);  // one byte, 0 or 1
  bool Fixed64(uint64_t* v);
  bool Double(double* d);
  bool Bytes(size_t n, std::string* s);
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace empi::index::internal

#endif  // EMPI_INDEX_CODEC_INTERNAL_H_
