// wg_str (plugin.h) to and from std::string_view: the one pair of conversions, for the SDK's C++
// layer and for the gateway's side of the ABI.
#ifndef WATCHGATE_WG_STR_HPP
#define WATCHGATE_WG_STR_HPP

#include <watchgate/plugin.h>

#include <string_view>

namespace watchgate {

// An empty wg_str may have data == NULL, which string_view must not be given with a size.
inline std::string_view view(wg_str s) { return s.size ? std::string_view(s.data, s.size) : std::string_view(); }
// Borrows `s`: valid while the viewed characters are.
inline wg_str str(std::string_view s) { return wg_str{s.data(), s.size()}; }

}  // namespace watchgate

#endif  // WATCHGATE_WG_STR_HPP
