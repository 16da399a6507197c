// The dashboard (issue 14): the files of web/ (plain JavaScript modules,
// CSS, no build step, no CDN), built into the binary at build time
// (api/embed_web.cmake) and served by leadflow itself:
//   GET /                    web/index.html: the lead status report
//   GET /lsq/                web/index.html: Leads Not Contacted
//   GET /search/<query>/     web/index.html: the leads of a report cell (the
//                            `_leads_page_urls` of the reports)
//   GET /assets/<name>       any file of web/
// No credential is needed for the files; the page asks for the org's key
// and sends it as a Bearer header to the API (never in a URL).
//
// Every answer carries a Content-Security-Policy that allows only this
// origin's scripts, styles and connections (no inline script or style, no
// eval), and X-Content-Type-Options, Referrer-Policy and X-Frame-Options;
// an ETag (a hash of the file), so that Cache-Control: no-cache costs a
// 304 when nothing changed.
//
// ServiceContext::web_dir set (`serve --web-dir DIR`, for working on the
// page): the files are read from DIR at each request instead.
//
// Thread safety: the built-in files are immutable; ServeWeb may be called
// from any thread.
#ifndef LEADFLOW_API_STATIC_ASSETS_H_
#define LEADFLOW_API_STATIC_ASSETS_H_

#include <optional>
#include <string>
#include <string_view>

#include "api/router.h"

namespace leadflow::api {

// The Content-Security-Policy of the page and its files.
inline constexpr std::string_view kPageCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

// The answer when path (percent-decoded) is the page's or one of its
// files', with *route set to its label ("/", "/lsq/", "/search/{query}/",
// "/assets/{name}"); nullopt for other paths.
std::optional<Response> ServeWeb(const Request& req, const std::string& path, const ServiceContext& ctx,
                                 std::string* route);

// The content type of a file of web/, by its extension.
std::string_view WebContentType(std::string_view name);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_STATIC_ASSETS_H_
