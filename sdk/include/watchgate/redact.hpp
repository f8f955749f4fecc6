// Spans of a text replaced by a placeholder: how the detection plugins redact a message and how
// the auditing plugins redact the copy of one they write (docs/plugins/audit_jsonl.md).
#ifndef WATCHGATE_REDACT_HPP
#define WATCHGATE_REDACT_HPP

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace watchgate {

struct RedactionSpan {
    std::size_t begin = 0;  // bytes of the text, [begin, end)
    std::size_t end = 0;
    std::string_view type;  // what "{type}" in the placeholder becomes
};

// `text` with every span replaced by `placeholder`, "{type}" in it by the span's type. Spans that
// overlap become one placeholder (the first one's type): never a torn one. Spans must lie in the text.
inline std::string redact_spans(std::string_view text, std::vector<RedactionSpan> spans,
                                std::string_view placeholder) {
    std::sort(spans.begin(), spans.end(), [](const RedactionSpan& a, const RedactionSpan& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
    });
    std::string out;
    out.reserve(text.size());
    std::size_t copied = 0;
    for (std::size_t i = 0; i < spans.size();) {
        const RedactionSpan& first = spans[i];
        std::size_t end = first.end;
        for (++i; i < spans.size() && spans[i].begin < end; ++i) end = std::max(end, spans[i].end);
        out.append(text.substr(copied, first.begin - copied));
        for (std::size_t at = 0; at < placeholder.size();) {
            const std::size_t token = placeholder.find("{type}", at);
            out.append(placeholder.substr(at, token == std::string_view::npos ? std::string_view::npos : token - at));
            if (token == std::string_view::npos) break;
            out.append(first.type);
            at = token + 6;
        }
        copied = end;
    }
    out.append(text.substr(copied));
    return out;
}

}  // namespace watchgate

#endif  // WATCHGATE_REDACT_HPP
