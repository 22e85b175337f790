#include "web/static_assets.h"

#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <array>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "web/api.h"  // errorResponse()

namespace parley::web {

namespace http = boost::beast::http;
namespace fs = std::filesystem;

namespace {

constexpr int kMaxDepth = 8;

std::string etagOf(std::string_view bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < 16; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out + "\"";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string_view contentTypeFor(std::string_view file_name) {
  static const std::map<std::string, std::string_view, std::less<>> kTypes = {
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json; charset=utf-8"},
      {".map", "application/json; charset=utf-8"},
      {".txt", "text/plain; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/vnd.microsoft.icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".wasm", "application/wasm"},
  };
  const std::size_t dot = file_name.rfind('.');
  const std::size_t slash = file_name.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  const auto it = kTypes.find(lower(file_name.substr(dot)));
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

bool etagMatches(std::string_view header, std::string_view etag) {
  const auto opaque = [](std::string_view tag) {
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    return tag;
  };
  const std::string_view want = opaque(etag);
  while (!header.empty()) {
    const std::size_t comma = std::min(header.find(','), header.size());
    std::string_view item = header.substr(0, comma);
    header.remove_prefix(std::min(comma + 1, header.size()));
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*" || (!item.empty() && opaque(item) == want)) return true;
  }
  return false;
}

StaticAssets StaticAssets::load(const fs::path& dir, StaticAssetLimits limits) {
  StaticAssets assets;
  std::error_code ec;
  // The directory itself may be a symlink (a deployment's choice); what is inside may not.
  if (!fs::is_directory(dir, ec)) {
    spdlog::warn(
        "web: static files: {} is not a readable directory; /widget.js and /widget/* "
        "will answer 404",
        dir.string());
    return assets;
  }
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  const fs::recursive_directory_iterator end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    const std::string name = entry.path().filename().string();
    const fs::file_status s = entry.symlink_status(ec);
    if (ec) break;
    if (name.starts_with(".") || fs::is_symlink(s) || it.depth() >= kMaxDepth) {
      if (fs::is_directory(s)) it.disable_recursion_pending();
      if (fs::is_symlink(s))
        spdlog::warn("web: static files: {} is a symlink, skipped", entry.path().string());
      continue;
    }
    if (fs::is_directory(s)) continue;
    if (!fs::is_regular_file(s)) continue;
    const std::string url = "/" + fs::relative(entry.path(), dir, ec).generic_string();
    if (ec) break;
    const std::uintmax_t size = fs::file_size(entry.path(), ec);
    if (ec) break;
    if (assets.files_.size() >= limits.max_files ||
        size > limits.max_total_bytes - assets.total_bytes_) {
      spdlog::warn(
          "web: static files: {} ({} bytes) skipped: over the limit of {} files, {} "
          "bytes",
          entry.path().string(), size, limits.max_files, limits.max_total_bytes);
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      spdlog::warn("web: static files: {} could not be read, skipped", entry.path().string());
      continue;
    }
    if (body.size() > limits.max_total_bytes - assets.total_bytes_) continue;  // grew meanwhile
    assets.total_bytes_ += body.size();
    StaticFile file{std::string(contentTypeFor(url)), etagOf(body), std::move(body)};
    assets.files_.emplace(url, std::move(file));
  }
  if (ec) {
    spdlog::warn("web: static files: reading {} stopped: {}", dir.string(), ec.message());
  }
  spdlog::info("web: static files: {} files ({} bytes) from {}", assets.files_.size(),
               assets.total_bytes_, dir.string());
  return assets;
}

const StaticFile* StaticAssets::find(std::string_view path) const {
  const auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

http::response<http::string_body> StaticAssets::serve(
    const http::request<http::string_body>& request, std::string_view path) const {
  const StaticFile* file = find(path);
  if (file == nullptr) {
    return errorResponse(http::status::not_found, "no such file", request.version(),
                         request.keep_alive());
  }
  http::response<http::string_body> res{http::status::ok, request.version()};
  res.set(http::field::etag, file->etag);
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  const auto match = request.find(http::field::if_none_match);
  if (match != request.end() &&
      etagMatches({match->value().data(), match->value().size()}, file->etag)) {
    res.result(http::status::not_modified);
  } else {
    res.set(http::field::content_type, file->content_type);
    res.body() = file->body;
  }
  res.keep_alive(request.keep_alive());
  res.prepare_payload();
  return res;
}

}  // namespace parley::web
