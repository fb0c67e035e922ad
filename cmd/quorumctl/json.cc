#include "cmd/quorumctl/json.h"

#include <google/protobuf/descriptor.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "cmd/quorumctl/gofmt.h"

namespace quorum::ctl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Go's generated field name for a proto name: "response_put" -> "ResponsePut".
std::string GoCamel(const std::string& name) {
  std::string out;
  bool up = true;
  for (char c : name) {
    if (c == '_') {
      up = true;
      continue;
    }
    out.push_back(up && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    up = false;
  }
  return out;
}

void Encode(const Message& m, std::string* out);

void EncodeValue(const Message& m, const FieldDescriptor* f, int index, std::string* out) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      absl::StrAppend(out, rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      absl::StrAppend(out, rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      absl::StrAppend(out, rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      absl::StrAppend(out, rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      absl::StrAppend(out, rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      absl::StrAppend(out, rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out->append((rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false");
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      absl::StrAppend(out, rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f));
      break;
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        absl::StrAppend(out, "\"", Base64(s), "\"");
      } else {
        out->append(GoJsonString(s));
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      Encode(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f), out);
      break;
  }
}

bool IsZero(const Message& m, const FieldDescriptor* f) {
  const Reflection* r = m.GetReflection();
  if (f->is_repeated()) return r->FieldSize(m, f) == 0;
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) return !r->HasField(m, f);
  // proto3 scalars: HasField is "non-default".
  return !r->HasField(m, f);
}

void Encode(const Message& m, std::string* out) {
  const auto* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  out->push_back('{');
  bool first = true;
  auto key = [&](const std::string& k) {
    if (!first) out->push_back(',');
    first = false;
    absl::StrAppend(out, "\"", k, "\":");
  };
  std::set<const google::protobuf::OneofDescriptor*> done;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const auto* oneof = f->real_containing_oneof();
    if (oneof != nullptr) {
      if (!done.insert(oneof).second) continue;
      key(GoCamel(oneof->name()));
      const FieldDescriptor* set = r->GetOneofFieldDescriptor(m, oneof);
      if (set == nullptr) {
        out->append("null");
      } else {
        absl::StrAppend(out, "{\"", GoCamel(set->name()), "\":");
        EncodeValue(m, set, 0, out);
        out->push_back('}');
      }
      continue;
    }
    if (IsZero(m, f)) continue;
    key(f->name());
    if (f->is_repeated()) {
      out->push_back('[');
      for (int k = 0; k < r->FieldSize(m, f); ++k) {
        if (k > 0) out->push_back(',');
        EncodeValue(m, f, k, out);
      }
      out->push_back(']');
    } else {
      EncodeValue(m, f, 0, out);
    }
  }
  out->push_back('}');
}

}  // namespace

std::string GoJson(const Message& m) {
  std::string out;
  Encode(m, &out);
  return out;
}

}  // namespace quorum::ctl
