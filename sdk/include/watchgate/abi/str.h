/* Watchgate plugin ABI: the string view every function passes. Part of <watchgate/plugin.h>. */
#ifndef WATCHGATE_ABI_STR_H
#define WATCHGATE_ABI_STR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A UTF-8 string view: `data` need not be NUL-terminated. An empty view may have data == NULL.
 * A view never owns its bytes: each function says who does and for how long ("Memory:"). */
typedef struct wg_str {
    const char* data;
    size_t size;
} wg_str;

/* Builds a wg_str from a string literal: WG_STR in expressions, WG_STR_INIT in static initializers. */
#define WG_STR(literal) wg_str_make((literal), sizeof(literal) - 1)
#define WG_STR_INIT(literal) \
    { (literal), sizeof(literal) - 1 }

/* Thread: any. Memory: the view borrows `data`. */
static inline wg_str wg_str_make(const char* data, size_t size) {
    wg_str view;
    view.data = data;
    view.size = size;
    return view;
}

#ifdef __cplusplus
}
#endif

#endif /* WATCHGATE_ABI_STR_H */
