// Static files served by the HTTP server (the customer widget: /widget.js, /widget/demo.html),
// read once at start-up from a directory (default ui/dist) into memory. The file
// <dir>/widget/demo.html is served at "/widget/demo.html". Only regular files are loaded: no
// symlinks (to files or directories, so nothing outside the directory), no dot files, at most
// `max_total_bytes` together and `max_files` files; what does not fit is skipped with a log
// line. A missing or unreadable directory is not an error: there are then no files (and a log
// line says so), and the routes answer 404.
//
// Responses carry Content-Type by extension, a strong ETag (a hash of the bytes), Cache-Control:
// no-cache (browsers revalidate each time and get 304 while the file is unchanged) and
// X-Content-Type-Options: nosniff.
//
// Thread rule: load() on any thread; afterwards immutable, so find() and serve() are safe from
// any thread.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace parley::web {

struct StaticFile {
  std::string content_type;
  std::string etag;  // "\"<32 hex digits>\"" (quotes included, as sent)
  std::string body;
};

struct StaticAssetLimits {
  std::size_t max_total_bytes = 8 * 1024 * 1024;
  std::size_t max_files = 1000;
};

class StaticAssets {
 public:
  StaticAssets() = default;  // no files

  // Loads every eligible file under `dir`. Never throws; problems are logged (warn).
  static StaticAssets load(const std::filesystem::path& dir, StaticAssetLimits limits = {});

  // The file at URL path `path` ("/widget.js"; exact match, no query string), or null.
  const StaticFile* find(std::string_view path) const;

  // The response to a GET of `path`: 200 with the file, 304 if the request's If-None-Match names
  // its ETag, 404 JSON error if there is no such file.
  boost::beast::http::response<boost::beast::http::string_body> serve(
      const boost::beast::http::request<boost::beast::http::string_body>& request,
      std::string_view path) const;

  std::size_t size() const { return files_.size(); }
  std::size_t totalBytes() const { return total_bytes_; }

 private:
  std::map<std::string, StaticFile, std::less<>> files_;  // by URL path
  std::size_t total_bytes_ = 0;
};

// "text/javascript; charset=utf-8" for "widget.js"; application/octet-stream if unknown.
std::string_view contentTypeFor(std::string_view file_name);

// True if the If-None-Match header value `header` matches `etag` (weak comparison, as RFC 9110
// says for If-None-Match; "*" matches any).
bool etagMatches(std::string_view header, std::string_view etag);

}  // namespace parley::web
