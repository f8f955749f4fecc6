/*
 * Watchgate plugin ABI: the whole contract between the gateway and a plugin. This umbrella
 * includes one small header per concept:
 *
 *   abi/version.h     ABI version, the entry symbol, WG_PLUGIN_EXPORT
 *   abi/str.h         wg_str, the string view every function passes
 *   abi/status.h      wg_status codes and JSON-RPC error codes
 *   abi/message.h     the opaque handles, message kinds, string visitors
 *   abi/audit.h       audit events for auditing plugins
 *   abi/host_api.h    wg_host_api: the host's services (logging, messages, verdicts, config)
 *   abi/descriptor.h  wg_plugin_descriptor: what a plugin exports, and its hooks
 *   abi/extensions.h  WG_EXT_* ids of optional host services
 *
 * Pure C99; includes nothing beyond <stdint.h> and <stddef.h>. Compiles as C99 and as C++17.
 *
 * Rules (docs/plugin-abi.md explains each):
 *  - A plugin exports one function, `watchgate_plugin_entry`, returning a static descriptor that
 *    starts with the ABI version and its own size. The host checks both before anything else.
 *  - Structs grow only at the end and carry their size; a reader uses a field only when the size
 *    it was given covers it. A changed signature gets a new name (`..._v2`), the old one stays.
 *  - Host services reach the plugin only through the `wg_host_api` table passed at creation.
 *  - Ownership: every function says it on its "Memory:" line. In short: views the host passes in
 *    are borrowed for the call; views the host returns are the host's for the stated time; what
 *    the plugin passes to the host is copied during the call. Memory is freed by the side that
 *    allocated it. No C++ types, exceptions or allocators cross this boundary.
 *  - Lifetimes: module (once per loaded file), instance (one per YAML plugin entry) and request
 *    context (one per client request per instance), each a create/destroy pair.
 *  - Threads: every function says it on its "Thread:" line.
 *  - Errors are values: `wg_status` codes plus messages handed to the host.
 */
#ifndef WATCHGATE_PLUGIN_H
#define WATCHGATE_PLUGIN_H

#include <watchgate/abi/version.h>
#include <watchgate/abi/str.h>
#include <watchgate/abi/status.h>
#include <watchgate/abi/message.h>
#include <watchgate/abi/audit.h>
#include <watchgate/abi/host_api.h>
#include <watchgate/abi/descriptor.h>
#include <watchgate/abi/extensions.h>

#endif /* WATCHGATE_PLUGIN_H */
