#include "web/static_assets.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace parley::web {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;

class TempTree {
 public:
  TempTree() {
    std::string pattern = (fs::temp_directory_path() / "parley-assets-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) root_ = pattern;
  }
  ~TempTree() {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  fs::path write(const std::string& relative, const std::string& bytes) const {
    const fs::path p = root_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

http::request<http::string_body> get(const std::string& target) {
  http::request<http::string_body> req{http::verb::get, target, 11};
  return req;
}

TEST(StaticAssets, FilesAreServedByPathWithTypeETagAndNoCache) {
  TempTree tree;
  tree.write("dist/widget.js", "console.log('hi');");
  tree.write("dist/widget/demo.html", "<!doctype html><p>demo</p>");
  tree.write("dist/widget/logo.SVG", "<svg/>");
  const StaticAssets assets = StaticAssets::load(tree.root() / "dist");
  EXPECT_EQ(assets.size(), 3u);
  EXPECT_EQ(assets.totalBytes(), 18u + 26u + 6u);

  const auto js = assets.serve(get("/widget.js"), "/widget.js");
  EXPECT_EQ(js.result(), http::status::ok);
  EXPECT_EQ(js.body(), "console.log('hi');");
  EXPECT_EQ(js[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(js[http::field::cache_control], "no-cache");
  EXPECT_EQ(js["X-Content-Type-Options"], "nosniff");
  const std::string etag(js[http::field::etag]);
  EXPECT_EQ(etag.size(), 34u);
  EXPECT_EQ(etag.front(), '"');

  const auto html = assets.serve(get("/widget/demo.html"), "/widget/demo.html");
  EXPECT_EQ(html.result(), http::status::ok);
  EXPECT_EQ(html[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(std::string(html[http::field::etag]), etag);  // different bytes, different tag
  EXPECT_EQ(assets.find("/widget/logo.SVG")->content_type, "image/svg+xml");

  EXPECT_EQ(assets.serve(get("/widget.jsx"), "/widget.jsx").result(), http::status::not_found);
  EXPECT_EQ(assets.find("/widget"), nullptr);  // a directory is not a file
  EXPECT_EQ(assets.find("widget.js"), nullptr);
  EXPECT_EQ(assets.find("/widget/../widget.js"), nullptr);  // exact paths only
}

TEST(StaticAssets, IfNoneMatchWithTheETagGets304WithoutBody) {
  TempTree tree;
  tree.write("widget.js", "x");
  const StaticAssets assets = StaticAssets::load(tree.root());
  const std::string etag = assets.find("/widget.js")->etag;
  for (const std::string& header : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    auto req = get("/widget.js");
    req.set(http::field::if_none_match, header);
    const auto res = assets.serve(req, "/widget.js");
    EXPECT_EQ(res.result(), http::status::not_modified) << header;
    EXPECT_TRUE(res.body().empty());
    EXPECT_EQ(res[http::field::etag], etag);
  }
  auto stale = get("/widget.js");
  stale.set(http::field::if_none_match, "\"0123\"");
  EXPECT_EQ(assets.serve(stale, "/widget.js").result(), http::status::ok);
}

TEST(StaticAssets, AMissingDirectoryServesNothingWithoutFailing) {
  TempTree tree;
  const StaticAssets assets = StaticAssets::load(tree.root() / "nope");
  EXPECT_EQ(assets.size(), 0u);
  EXPECT_EQ(assets.serve(get("/widget.js"), "/widget.js").result(), http::status::not_found);
  tree.write("file", "x");
  EXPECT_EQ(StaticAssets::load(tree.root() / "file").size(), 0u);  // a file is not a directory
}

TEST(StaticAssets, SymlinksAndDotFilesAreNotLoaded) {
  TempTree tree;
  tree.write("secret/passwd", "root:x:0:0");
  tree.write("dist/widget.js", "ok");
  tree.write("dist/.env", "TOKEN=1");
  tree.write("dist/.git/config", "x");
  fs::create_symlink(tree.root() / "secret/passwd", tree.root() / "dist/passwd.txt");
  fs::create_directory_symlink(tree.root() / "secret", tree.root() / "dist/secret");
  const StaticAssets assets = StaticAssets::load(tree.root() / "dist");
  EXPECT_EQ(assets.size(), 1u);
  EXPECT_NE(assets.find("/widget.js"), nullptr);
  EXPECT_EQ(assets.find("/passwd.txt"), nullptr);
  EXPECT_EQ(assets.find("/secret/passwd"), nullptr);
  EXPECT_EQ(assets.find("/.env"), nullptr);
}

TEST(StaticAssets, FilesBeyondTheSizeBudgetAreSkipped) {
  TempTree tree;
  tree.write("a.js", std::string(600, 'a'));
  tree.write("b.js", std::string(600, 'b'));
  tree.write("c.js", std::string(300, 'c'));
  const StaticAssets assets = StaticAssets::load(tree.root(), {.max_total_bytes = 1000});
  EXPECT_LE(assets.totalBytes(), 1000u);
  EXPECT_EQ(assets.size(), 2u);  // one of the 600s and the 300 (whichever order the dir lists)
  EXPECT_NE(assets.find("/c.js"), nullptr);
  const StaticAssets few = StaticAssets::load(tree.root(), {.max_files = 1});
  EXPECT_EQ(few.size(), 1u);
}

TEST(StaticAssets, ContentTypesByExtension) {
  EXPECT_EQ(contentTypeFor("/a/b.css"), "text/css; charset=utf-8");
  EXPECT_EQ(contentTypeFor("/x.json"), "application/json; charset=utf-8");
  EXPECT_EQ(contentTypeFor("/x.woff2"), "font/woff2");
  EXPECT_EQ(contentTypeFor("/x.PNG"), "image/png");
  EXPECT_EQ(contentTypeFor("/README"), "application/octet-stream");
  EXPECT_EQ(contentTypeFor("/v1.2/README"), "application/octet-stream");
  EXPECT_EQ(contentTypeFor("/x.exe"), "application/octet-stream");
}

TEST(StaticAssets, ETagMatchingFollowsIfNoneMatchRules) {
  EXPECT_TRUE(etagMatches("\"a\"", "\"a\""));
  EXPECT_TRUE(etagMatches(" \"b\" ,W/\"a\"", "\"a\""));
  EXPECT_TRUE(etagMatches("*", "\"a\""));
  EXPECT_FALSE(etagMatches("\"ab\"", "\"a\""));
  EXPECT_FALSE(etagMatches("", "\"a\""));
  EXPECT_FALSE(etagMatches(",,", "\"a\""));
}

}  // namespace
}  // namespace parley::web
