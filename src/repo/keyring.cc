#include "repo/keyring.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/aead.h"
#include "common/crypto.h"

namespace walferry::repo {
namespace {

using nlohmann::json;

constexpr int kKeyringFormat = 1;
constexpr char kKekStem[] = "kek-";
constexpr char kGenStem[] = "gen-";

std::string ObjectKey(const std::string& name, bool copy) {
  return std::string(kKeyringPrefix) + name + (copy ? ".copy.json" : ".json");
}

std::string GenName(uint32_t generation) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%06u", kGenStem, generation);
  return buf;
}

std::string Aad(const std::string& repository_id, const std::string& name) {
  return "walferry keyring " + std::to_string(kKeyringFormat) + "|" + repository_id + "|" + name;
}

std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool Unhex(const std::string& hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int v = 0;
    for (int k = 0; k < 2; ++k) {
      char c = hex[i + k];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return false;
      v = v * 16 + d;
    }
    out.push_back(static_cast<char>(v));
  }
  return true;
}

// One key object: `secret` wrapped under `wrapping` for `name`.
Result<std::string> Encode(const std::string& repository_id, const std::string& name,
                           const std::string& created, std::string_view wrapping,
                           std::string_view secret) {
  auto wrapped = crypto::WrapKey(wrapping, Aad(repository_id, name), secret);
  if (!wrapped.ok()) return wrapped.status();
  json j = {{"format", kKeyringFormat},
            {"repository", repository_id},
            {"name", name},
            {"created", created},
            {"wrapped", crypto::Hex(*wrapped)}};
  return j.dump(2) + "\n";
}

struct Unwrapped {
  std::string secret;
  std::string created;
};

// Decodes and unwraps one copy; kCorruption naming `key` for anything wrong.
Result<Unwrapped> Decode(const std::string& text, const std::string& key,
                         const std::string& repository_id, const std::string& name,
                         std::string_view wrapping) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("key object '" + key + "' " + why);
  };
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return bad("is not a JSON object");
  auto str = [&](const char* field) -> const std::string* {
    auto it = j.find(field);
    return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  auto format = j.find("format");
  if (format == j.end() || !format->is_number_integer() || format->get<int64_t>() != kKeyringFormat)
    return bad("has no format " + std::to_string(kKeyringFormat));
  const std::string* repo = str("repository");
  if (repo == nullptr || *repo != repository_id) return bad("belongs to another repository");
  const std::string* n = str("name");
  if (n == nullptr || *n != name) return bad("is not '" + name + "'");
  const std::string* wrapped_hex = str("wrapped");
  std::string wrapped;
  if (wrapped_hex == nullptr || !Unhex(*wrapped_hex, wrapped)) return bad("has no wrapped key");
  auto secret = crypto::UnwrapKey(wrapping, Aad(repository_id, name), wrapped);
  if (!secret.ok()) return bad("does not authenticate (damaged, or moved from elsewhere)");
  if (secret->size() != crypto::kAeadKeySize) return bad("holds a key of the wrong size");
  const std::string* created = str("created");
  return Unwrapped{*secret, created ? *created : ""};
}

// Reads `name` (either copy that authenticates). kNotFound when neither exists.
Result<Unwrapped> ReadKeyObject(Storage& storage, const std::string& repository_id,
                                const std::string& name, std::string_view wrapping) {
  Status first = Status::Ok();
  bool any = false;
  for (bool copy : {false, true}) {
    std::string key = ObjectKey(name, copy);
    auto text = GetString(storage, key, ByteRange{0, 64 * 1024});
    if (!text.ok()) {
      if (text.status().IsNotFound()) continue;
      if (text.status().code() == Status::Code::kInvalidArgument) {  // an empty object
        any = true;
        if (first.ok()) first = Status::Corruption("key object '" + key + "' is empty");
        continue;
      }
      return text.status();
    }
    any = true;
    auto got = Decode(*text, key, repository_id, name, wrapping);
    if (got.ok()) return got;
    if (first.ok()) first = got.status();
  }
  if (!any) return Status::NotFound("no key object '" + ObjectKey(name, false) + "'");
  return std::move(first).WithHint("both copies of '" + name +
                                   "' are damaged; restore one from a recovery bundle");
}

Status WriteKeyObject(Storage& storage, const std::string& name, const std::string& body,
                      bool create) {
  PutOptions o;
  o.if_absent = create;
  auto put = PutString(storage, ObjectKey(name, false), body, o);
  if (!put.ok()) return put.status();
  o.if_absent = false;
  auto copy = PutString(storage, ObjectKey(name, true), body, o);
  return copy.ok() ? Status::Ok() : copy.status();
}

// Names of the keyring's objects (primary copies and lone second copies).
Result<std::vector<std::string>> Names(Storage& storage, const char* stem) {
  auto all = ListAll(storage, std::string(kKeyringPrefix) + stem);
  if (!all.ok()) return all.status();
  std::vector<std::string> names;
  for (const ObjectInfo& o : *all) {
    std::string n = o.key.substr(std::string(kKeyringPrefix).size());
    for (const char* suffix : {".copy.json", ".json"}) {
      std::string sfx(suffix);
      if (n.size() > sfx.size() && n.compare(n.size() - sfx.size(), sfx.size(), sfx) == 0) {
        n.resize(n.size() - sfx.size());
        break;
      }
    }
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::string KekFingerprint(std::string_view kek) {
  return crypto::Hex(crypto::HmacSha256(kek, "walferry key-encryption key fingerprint"))
      .substr(0, 16);
}

Keyring::~Keyring() {
  crypto::Cleanse(keyring_key_);
  for (auto& [gen, key] : keys_) crypto::Cleanse(key);
}

Result<Keyring> Keyring::Create(Storage& storage, const std::string& repository_id,
                                std::string_view kek) {
  if (kek.size() != crypto::kAeadKeySize)
    return Status::InvalidArgument("a key-encryption key must be 32 bytes");
  auto existing = Names(storage, kKekStem);
  if (!existing.ok()) return existing.status();
  if (!existing->empty()) {
    return Status::AlreadyExists("repository " + storage.Describe() + " already has a keyring (" +
                                 std::to_string(existing->size()) + " key-encryption key(s))");
  }
  Keyring ring(repository_id);
  auto krk = crypto::RandomBytes(crypto::kAeadKeySize);
  auto master = crypto::RandomBytes(crypto::kAeadKeySize);
  if (!krk.ok()) return krk.status();
  if (!master.ok()) return master.status();
  ring.keyring_key_ = *krk;
  std::string created = NowUtc();
  // generation 1 first: a keyring whose KEK object exists is complete
  std::string gen = GenName(1);
  auto gen_body = Encode(repository_id, gen, created, ring.keyring_key_, *master);
  if (!gen_body.ok()) return gen_body.status();
  if (Status s = WriteKeyObject(storage, gen, *gen_body, /*create=*/true); !s.ok()) return s;
  std::string slot = kKekStem + KekFingerprint(kek);
  auto kek_body = Encode(repository_id, slot, created, kek, ring.keyring_key_);
  if (!kek_body.ok()) return kek_body.status();
  if (Status s = WriteKeyObject(storage, slot, *kek_body, /*create=*/true); !s.ok()) return s;
  ring.keys_[1] = *master;
  ring.info_.push_back({1, created});
  return ring;
}

Result<Keyring> Keyring::Open(Storage& storage, const std::string& repository_id,
                              std::string_view kek) {
  if (kek.size() != crypto::kAeadKeySize)
    return Status::InvalidArgument("a key-encryption key must be 32 bytes");
  Keyring ring(repository_id);
  std::string print = KekFingerprint(kek);
  auto krk = ReadKeyObject(storage, repository_id, kKekStem + print, kek);
  if (!krk.ok()) {
    if (!krk.status().IsNotFound()) return krk.status();
    auto known = Names(storage, kKekStem);
    if (!known.ok()) return known.status();
    if (known->empty()) {
      return Status::WrongRepository("repository " + storage.Describe() +
                                     " has no keyring: it is not encrypted")
          .WithHint("create an encrypted repository with 'walferry repo-create --encryption'");
    }
    std::string list;
    for (const std::string& n : *known) list += (list.empty() ? "" : ", ") + n.substr(4);
    return Status::Auth("the configured encryption key (fingerprint " + print +
                        ") is not one of repository " + storage.Describe() + "'s keys (" + list +
                        ")")
        .WithHint(
            "check encryption-key-file/-env/-command; 'walferry key list' shows the "
            "fingerprints of the keys a repository accepts");
  }
  ring.keyring_key_ = krk->secret;
  if (Status s = ring.LoadGenerations(storage); !s.ok()) return s;
  return ring;
}

Status Keyring::LoadGenerations(Storage& storage) {
  auto names = Names(storage, kGenStem);
  if (!names.ok()) return names.status();
  keys_.clear();
  info_.clear();
  for (const std::string& n : *names) {
    unsigned gen = 0;
    char tail = 0;
    if (std::sscanf(n.c_str(), "gen-%6u%c", &gen, &tail) != 1 || gen == 0 || GenName(gen) != n) {
      return Status::Corruption("repository keyring has an object of no generation: '" +
                                std::string(kKeyringPrefix) + n + "'");
    }
    auto got = ReadKeyObject(storage, id_, n, keyring_key_);
    if (!got.ok()) return got.status();
    keys_[gen] = got->secret;
    info_.push_back({gen, got->created});
  }
  if (keys_.empty()) {
    return Status::Corruption("repository " + storage.Describe() +
                              " has a keyring key but no master key generation");
  }
  return Status::Ok();
}

Result<std::vector<std::string>> Keyring::Keks(Storage& storage) const {
  auto names = Names(storage, kKekStem);
  if (!names.ok()) return names.status();
  for (std::string& n : *names) n = n.substr(std::string(kKekStem).size());
  return names;
}

Result<uint32_t> Keyring::Rotate(Storage& storage) {
  for (int attempt = 0; attempt < 8; ++attempt) {  // bounded: each loss means another won
    uint32_t next = current() + 1;
    auto master = crypto::RandomBytes(crypto::kAeadKeySize);
    if (!master.ok()) return master.status();
    std::string created = NowUtc();
    auto body = Encode(id_, GenName(next), created, keyring_key_, *master);
    if (!body.ok()) return body.status();
    Status s = WriteKeyObject(storage, GenName(next), *body, /*create=*/true);
    if (s.ok()) {
      keys_[next] = *master;
      info_.push_back({next, created});
      return next;
    }
    if (!s.IsAlreadyExists()) return s;
    // another process created generation `next` first: adopt it (and any later ones)
    if (Status l = LoadGenerations(storage); !l.ok()) return l;
    if (current() >= next) return current();
  }
  return Status::Unavailable(
      "could not create a new key generation: other rotations kept "
      "winning; try again");
}

Status Keyring::AddKek(Storage& storage, std::string_view other) {
  if (other.size() != crypto::kAeadKeySize)
    return Status::InvalidArgument("a key-encryption key must be 32 bytes");
  std::string slot = kKekStem + KekFingerprint(other);
  auto body = Encode(id_, slot, NowUtc(), other, keyring_key_);
  if (!body.ok()) return body.status();
  Status s = WriteKeyObject(storage, slot, *body, /*create=*/true);
  if (s.IsAlreadyExists()) {
    return Status::AlreadyExists("the key with fingerprint " + KekFingerprint(other) +
                                 " is already one of this repository's keys");
  }
  return s;
}

Status Keyring::RemoveKek(Storage& storage, const std::string& print) {
  auto keks = Keks(storage);
  if (!keks.ok()) return keks.status();
  if (std::find(keks->begin(), keks->end(), print) == keks->end()) {
    return Status::NotFound("no key with fingerprint " + print + " in this repository");
  }
  if (keks->size() == 1) {
    return Status::InvalidArgument("the key with fingerprint " + print +
                                   " is the repository's only key; removing it would make "
                                   "every object unreadable")
        .WithHint("add another key first");
  }
  std::string slot = kKekStem + print;
  // the second copy first: a crash in between leaves one whole copy, not a lone second one
  if (Status s = storage.Remove(ObjectKey(slot, true)); !s.ok() && !s.IsNotFound()) return s;
  Status s = storage.Remove(ObjectKey(slot, false));
  return s.IsNotFound() ? Status::Ok() : s;
}

Result<std::string> Keyring::MasterKey(uint32_t generation) const {
  auto it = keys_.find(generation);
  if (it == keys_.end()) {
    return Status::Corruption("an object names key generation " + std::to_string(generation) +
                              ", which this repository's keyring does not have");
  }
  return it->second;
}

Result<std::string> DeriveDataKey(std::string_view master, const std::string& repository_id,
                                  std::string_view salt, std::string_view object_name) {
  std::string info = "walferry data key 1|" + repository_id + "|" + std::string(object_name);
  return crypto::HkdfSha256(master, salt, info, crypto::kAeadKeySize);
}

Result<std::string> DeriveContentIdKey(std::string_view master, const std::string& repository_id) {
  return crypto::HkdfSha256(master, "", "walferry content id 1|" + repository_id,
                            crypto::kAeadKeySize);
}

Result<std::string> Keyring::DataKey(uint32_t generation, std::string_view salt,
                                     std::string_view object_name) const {
  auto master = MasterKey(generation);
  if (!master.ok()) return master.status();
  return DeriveDataKey(*master, id_, salt, object_name);
}

Result<std::string> Keyring::ContentIdKey(uint32_t generation) const {
  auto master = MasterKey(generation);
  if (!master.ok()) return master.status();
  return DeriveContentIdKey(*master, id_);
}

}  // namespace walferry::repo
