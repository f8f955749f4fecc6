/* Watchgate plugin ABI: versions, the entry symbol and its export. Part of <watchgate/plugin.h>. */
#ifndef WATCHGATE_ABI_VERSION_H
#define WATCHGATE_ABI_VERSION_H

/* Same major: compatible. The host refuses a plugin of another major, or one built against a newer
 * minor than its own (it may use fields the host does not have). History: docs/plugin-abi.md. */
#define WG_ABI_VERSION_MAJOR 1
#define WG_ABI_VERSION_MINOR 2

/* The one symbol a plugin exports. */
#define WG_PLUGIN_ENTRY_SYMBOL "watchgate_plugin_entry"

#if defined(_WIN32)
#define WG_PLUGIN_EXPORT __declspec(dllexport)
#else
#define WG_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

#endif /* WATCHGATE_ABI_VERSION_H */
