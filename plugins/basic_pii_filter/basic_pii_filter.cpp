// basic_pii_filter: finds personal data (email addresses, phone numbers, payment cards, IP
// addresses, national identifiers, IBANs) in every string of a message and blocks, redacts or
// records it. Candidates from the patterns are confirmed by checksums and range checks.
#include "detection.hpp"

#include <array>
#include <cstring>

using namespace watchgate;
using namespace watchgate::detection;

namespace {

// Words that introduce reference numbers rather than phone numbers.
bool reference_context(std::string_view text, std::size_t begin) {
    return preceded_by_word(text, begin, 24,
                            {"order", "invoice", "ref", "reference", "tracking", "account", "acct", "id", "#", "no.",
                             "serial", "sku", "ticket", "case", "build", "version", "isbn", "part"});
}

// ---- email ----

bool valid_email(std::string_view text, std::size_t& begin, std::size_t& end) {
    // The pattern has no counters (counted repetitions make the DFA of the whole set explode on
    // long alphanumeric runs), so the limits of RFC 5321 are checked here.
    while (begin < end && !is_alnum(text[begin])) ++begin;
    std::string_view address = text.substr(begin, end - begin);
    const std::size_t at = address.find('@');
    if (at == 0 || at == std::string_view::npos || at > 64) return false;
    std::string_view local = address.substr(0, at);
    if (local.find("..") != std::string_view::npos || local.back() == '.') return false;
    std::string_view domain = address.substr(at + 1);
    for (std::size_t start = 0; start < domain.size();) {
        std::size_t dot = domain.find('.', start);
        std::string_view label = domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    // scp-style remotes (git@host:owner/repo) and URL user info (scheme://user@host) are not mailboxes.
    if (end + 1 < text.size() && text[end] == ':' && (is_alnum(text[end + 1]) || text[end + 1] == '/')) return false;
    if (begin >= 3 && text.substr(begin - 3, 3) == "://") return false;
    // Asset names such as icon@2x.png.
    const std::string_view tld = address.substr(address.rfind('.') + 1);
    static constexpr std::array<std::string_view, 12> file_types = {"png", "jpg", "jpeg", "gif", "svg", "webp",
                                                                    "ico", "bmp", "css",  "js",  "tif", "tiff"};
    for (std::string_view extension : file_types)
        if (tld.size() == extension.size() &&
            std::equal(tld.begin(), tld.end(), extension.begin(), [](char a, char b) { return (a | 0x20) == b; }))
            return false;
    return true;
}

// ---- phone ----

bool phone_digits_in(std::string_view digits, std::size_t low, std::size_t high) {
    return digits.size() >= low && digits.size() <= high;
}

bool valid_international_phone(std::string_view text, std::size_t& begin, std::size_t& end) {
    if (begin > 0 && (is_alnum(text[begin - 1]) || text[begin - 1] == '+')) return false;
    if (end < text.size() && (is_alnum(text[end]) || text[end] == '@')) return false;
    return phone_digits_in(digits_of(text.substr(begin, end - begin)), 8, 15);
}

bool valid_north_american_phone(std::string_view text, std::size_t& begin, std::size_t& end) {
    if (glued_to_number(text, begin, end) || reference_context(text, begin)) return false;
    std::string digits = digits_of(text.substr(begin, end - begin));
    if (digits.size() == 11) digits.erase(0, 1);  // country code 1
    if (digits.size() != 10) return false;
    // One separator style throughout ("555-123-4567", not "555.123-4567"); "(555) 123-4567" has its own.
    std::string_view number = text.substr(begin, end - begin);
    if (number.find('(') != std::string_view::npos) return true;
    std::string separators;
    for (char c : number)
        if (!is_digit(c)) separators += c;
    return std::all_of(separators.begin(), separators.end(), [&](char c) { return c == separators.front(); });
}

bool valid_national_phone(std::string_view text, std::size_t& begin, std::size_t& end) {
    if (glued_to_number(text, begin, end) || reference_context(text, begin)) return false;
    std::string_view number = text.substr(begin, end - begin);
    const std::string digits = digits_of(number);
    // "00" is the international prefix in most of the world: 0044 20 7946 0958.
    const bool international = digits.rfind("00", 0) == 0;
    if (!phone_digits_in(digits, 10, international ? 17 : 12)) return false;
    // Dates written with dots or slashes (01.02.2024 10) are not numbers to call.
    return number.find('/') == std::string_view::npos || number.find('/') > 5;
}

// A national number written without its trunk 0: Indian mobiles ("98765 43210") and Brazilian
// numbers with a two-digit area code ("(11) 91234-5678"). Bare ten-digit runs are ids far more
// often than phones: without the usual grouping, a phone word must come shortly before.
bool valid_indian_mobile(std::string_view text, std::size_t& begin, std::size_t& end) {
    if (glued_to_number(text, begin, end) || reference_context(text, begin)) return false;
    const bool grouped = end - begin == 11;  // 5 + separator + 5
    return grouped ||
           preceded_by_word(text, begin, 24,
                            {"phone", "mobile", "mob", "tel", "call", "contact", "whatsapp", "cell", "ph", "number"});
}

bool valid_brazilian_phone(std::string_view text, std::size_t& begin, std::size_t& end) {
    return !glued_to_number(text, begin, end) && !reference_context(text, begin);
}

// ---- payment cards ----

bool card_brand_matches(std::string_view digits) {
    auto prefix = [&](std::size_t length) { return std::stoi(std::string(digits.substr(0, length))); };
    const std::size_t length = digits.size();
    const int two = prefix(2), three = prefix(3), four = prefix(4), six = prefix(6);
    if (digits[0] == '4') return length == 13 || length == 16 || length == 19;            // Visa
    if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) return length == 16;  // Mastercard
    if (two == 34 || two == 37) return length == 15;                                      // Amex
    if (four == 6011 || two == 65 || (three >= 644 && three <= 649) || (six >= 622126 && six <= 622925))
        return length >= 16 && length <= 19;  // Discover
    if ((three >= 300 && three <= 305) || two == 36 || two == 38 || two == 39)
        return length >= 14 && length <= 19;                                                      // Diners Club
    if (four >= 3528 && four <= 3589) return length >= 16 && length <= 19;                        // JCB
    if (two == 62) return length >= 16 && length <= 19;                                           // UnionPay
    if (four >= 2200 && four <= 2204) return length == 16;                                        // Mir
    if (two == 50 || (two >= 56 && two <= 58) || two == 67) return length >= 16 && length <= 19;  // Maestro
    return false;
}

bool valid_card(std::string_view text, std::size_t& begin, std::size_t& end) {
    if (glued_to_number(text, begin, end)) return false;
    std::string_view number = text.substr(begin, end - begin);
    const std::string digits = digits_of(number);
    if (digits.size() < 13 || digits.size() > 19) return false;
    // Grouped forms must follow a real layout with one separator: 4-4-4-4(-3), 4-6-5, 4-6-4, 4-4-4-3.
    if (digits.size() != number.size()) {
        std::vector<std::size_t> groups{0};
        char separator = 0;
        for (char c : number) {
            if (is_digit(c)) {
                ++groups.back();
                continue;
            }
            if (separator && c != separator) return false;
            separator = c;
            groups.push_back(0);
        }
        static const std::vector<std::vector<std::size_t>> layouts = {{4, 4, 4, 4},    {4, 6, 5},       {4, 6, 4},
                                                                      {4, 4, 4, 3},    {4, 4, 4, 2},    {4, 4, 4, 4, 3},
                                                                      {4, 4, 4, 4, 2}, {4, 4, 4, 4, 1}, {4, 4, 4, 1}};
        if (std::find(layouts.begin(), layouts.end(), groups) == layouts.end()) return false;
    }
    return card_brand_matches(digits) && luhn_valid(digits);
}

// ---- IP addresses ----

bool valid_ipv4(std::string_view text, std::size_t& begin, std::size_t& end) {
    // Part of a longer dotted sequence (1.2.3.4.5, OIDs, host-1.2.3.4.example.com) or a version.
    if (begin > 0 && (text[begin - 1] == '.' || text[begin - 1] == '-' || is_alnum(text[begin - 1]))) return false;
    if (end + 1 < text.size() && text[end] == '.' && is_alnum(text[end + 1])) return false;
    if (preceded_by_word(text, begin, 12, {"version", "ver", "v.", "release"})) return false;
    std::string_view address = text.substr(begin, end - begin);
    std::size_t start = 0;
    for (int part = 0; part < 4; ++part) {
        std::size_t dot = address.find('.', start);
        std::string_view octet = address.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (octet.size() > 1 && octet[0] == '0') return false;
        if (std::stoi(std::string(octet)) > 255) return false;
        start = dot + 1;
    }
    return true;
}

bool valid_ipv6(std::string_view text, std::size_t& begin, std::size_t& end) {
    if (begin > 0 && (is_alnum(text[begin - 1]) || text[begin - 1] == ':' || text[begin - 1] == '.')) return false;
    if (end < text.size() && (is_alnum(text[end]) || text[end] == ':')) return false;
    std::string_view address = text.substr(begin, end - begin);
    std::string_view zone_free = address.substr(0, address.find('%'));
    // Code such as Foo::Bar or dead::beef is not an address: a real one carries a digit.
    if (std::none_of(zone_free.begin(), zone_free.end(), is_digit)) return false;
    const bool compressed = zone_free.find("::") != std::string_view::npos;
    if (compressed && zone_free.find("::", zone_free.find("::") + 1) != std::string_view::npos) return false;
    std::size_t groups = 0;
    bool embedded_ipv4 = false;
    std::size_t start = 0;
    while (start <= zone_free.size()) {
        std::size_t colon = zone_free.find(':', start);
        std::string_view group = zone_free.substr(start, colon == std::string_view::npos ? colon : colon - start);
        if (group.find('.') != std::string_view::npos)
            embedded_ipv4 = true;
        else if (!group.empty())
            ++groups;
        if (group.size() > 4 && group.find('.') == std::string_view::npos) return false;
        if (colon == std::string_view::npos) break;
        start = colon + 1;
    }
    const std::size_t total = groups + (embedded_ipv4 ? 2 : 0);
    return compressed ? total <= 7 && zone_free != "::" : total == 8;
}

// ---- national identifiers ----

bool valid_ssn_digits(std::string_view digits) {
    const int area = std::stoi(std::string(digits.substr(0, 3)));
    const int group = std::stoi(std::string(digits.substr(3, 2)));
    const int serial = std::stoi(std::string(digits.substr(5, 4)));
    return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

bool valid_ssn(std::string_view text, std::size_t& begin, std::size_t& end) {
    if (glued_to_number(text, begin, end)) return false;
    return valid_ssn_digits(digits_of(text.substr(begin, end - begin)));
}

bool valid_labelled_ssn(std::string_view text, std::size_t& begin, std::size_t& end) {
    return valid_ssn_digits(text.substr(begin, end - begin));
}

bool valid_nino(std::string_view text, std::size_t& begin, std::size_t&) {
    static constexpr std::array<std::string_view, 7> unused = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"};
    std::string_view prefix = text.substr(begin, 2);
    return std::find(unused.begin(), unused.end(), prefix) == unused.end();
}

bool valid_labelled_sin(std::string_view text, std::size_t& begin, std::size_t& end) {
    const std::string_view digits = text.substr(begin, end - begin);
    return digits[0] != '8' && luhn_valid(digits);
}

bool valid_sin(std::string_view text, std::size_t& begin, std::size_t& end) {
    if (glued_to_number(text, begin, end)) return false;
    std::string_view number = text.substr(begin, end - begin);
    if (number[3] != number[7]) return false;  // one separator style
    const std::string digits = digits_of(number);
    return digits[0] != '8' && luhn_valid(digits);
}

// ---- IBAN ----

std::size_t iban_length(std::string_view country) {
    struct Country {
        const char* code;
        std::size_t length;
    };
    static constexpr Country countries[] = {
        {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22}, {"BH", 22},
        {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28},
        {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23},
        {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26},
        {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
        {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18},
        {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
        {"SC", 31}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22},
        {"VG", 24}, {"XK", 20}};
    for (const Country& entry : countries)
        if (country == entry.code) return entry.length;
    return 0;
}

bool valid_iban(std::string_view text, std::size_t& begin, std::size_t& end) {
    if (begin > 0 && is_alnum(text[begin - 1])) return false;
    const std::size_t expected = iban_length(text.substr(begin, 2));
    if (expected == 0) return false;
    // The pattern may run on into following words; the country fixes the length.
    std::string compact;
    std::size_t at = begin;
    for (; at < end && compact.size() < expected; ++at)
        if (text[at] != ' ') compact += text[at];
    if (compact.size() != expected || (at < text.size() && is_alnum(text[at]))) return false;
    end = at;
    // ISO 13616: move the first four characters to the end, letters become 10..35, mod 97 == 1.
    const std::string rearranged = compact.substr(4) + compact.substr(0, 4);
    int remainder = 0;
    for (char c : rearranged) {
        if (is_digit(c))
            remainder = (remainder * 10 + (c - '0')) % 97;
        else
            remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
    }
    return remainder == 1;
}

// ---- the plugin ----

struct PiiPattern {
    const char* group;  // Gatekit-compatible switch: email, phone, credit_card, ip_address, national_id, iban
    const char* kind;   // finer switch: ipv4, ipv6, us_ssn, uk_nino, ca_sin (or the group again)
    PatternSpec spec;
};

std::vector<PiiPattern> pii_patterns() {
    return {
        {"email", "email", {"EMAIL", R"([A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}\b)", valid_email}},
        {"phone",
         "phone",
         {"PHONE", R"(\+[1-9]\d{0,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,6}){1,6})", valid_international_phone}},
        {"phone",
         "phone",
         {"PHONE", R"((?:\b1[ .-]?)?(?:\(\d{3}\) ?|\b\d{3}[ .-])\d{3}[ .-]\d{4}\b)", valid_north_american_phone}},
        {"phone",
         "phone",
         {"PHONE", R"((?:\(0\d{1,4}\) ?|\b0\d{1,4}[ ./-])\d{2,8}(?:[ .-]\d{2,8}){0,3}\b)", valid_national_phone}},
        {"phone", "phone", {"PHONE", R"(\b[6-9]\d{4}[ -]?\d{5}\b)", valid_indian_mobile}},
        {"phone", "phone", {"PHONE", R"(\(\d{2}\) ?9?\d{4}-\d{4}\b|\b\d{2} 9\d{4}-\d{4}\b)", valid_brazilian_phone}},
        {"credit_card",
         "credit_card",
         {"CREDIT_CARD",
          R"(\b\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{1,4}(?:[ -]?\d{1,3})?\b|\b\d{4}[ -]?\d{6}[ -]?\d{4,5}\b)", valid_card}},
        {"ip_address", "ipv4", {"IPV4", R"(\b(?:\d{1,3}\.){3}\d{1,3}\b)", valid_ipv4}},
        {"ip_address",
         "ipv6",
         {"IPV6",
          R"((?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4})"
          R"(|(?:[0-9A-Fa-f]{1,4}:){1,7}:)"
          R"(|(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4})"
          R"(|(?:[0-9A-Fa-f]{1,4}:){1,5}(?::[0-9A-Fa-f]{1,4}){1,2})"
          R"(|(?:[0-9A-Fa-f]{1,4}:){1,4}(?::[0-9A-Fa-f]{1,4}){1,3})"
          R"(|(?:[0-9A-Fa-f]{1,4}:){1,3}(?::[0-9A-Fa-f]{1,4}){1,4})"
          R"(|(?:[0-9A-Fa-f]{1,4}:){1,2}(?::[0-9A-Fa-f]{1,4}){1,5})"
          R"(|[0-9A-Fa-f]{1,4}:(?::[0-9A-Fa-f]{1,4}){1,6})"
          R"(|:(?::[0-9A-Fa-f]{1,4}){1,7})"
          R"(|[Ff][Ee]80:(?::[0-9A-Fa-f]{0,4}){0,4}%[0-9A-Za-z]{1,16})"
          R"(|::(?:[Ff]{4}(?::0{1,4})?:)?(?:\d{1,3}\.){3}\d{1,3})"
          R"(|(?:[0-9A-Fa-f]{1,4}:){1,4}:(?:\d{1,3}\.){3}\d{1,3})"
          R"(|(?:[0-9A-Fa-f]{1,4}:){6}(?:\d{1,3}\.){3}\d{1,3})",
          valid_ipv6, 0, true}},
        {"national_id", "us_ssn", {"US_SSN", R"(\b\d{3}-\d{2}-\d{4}\b|\b\d{3} \d{2} \d{4}\b)", valid_ssn}},
        {"national_id",
         "us_ssn",
         {"US_SSN",
          R"((?i)\b(?:ssn|social security(?: number| no\.?)?|soc\.? ?sec\.?)\s{0,3}(?:#|number|no\.?)?\s{0,3}[:=#]?\s{0,3}(\d{9})\b)",
          valid_labelled_ssn, 1}},
        {"national_id",
         "uk_nino",
         {"UK_NINO", R"(\b(?:[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]|QQ) ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b)", valid_nino}},
        {"national_id", "ca_sin", {"CA_SIN", R"(\b\d{3}[ -]\d{3}[ -]\d{3}\b)", valid_sin}},
        {"national_id",
         "ca_sin",
         {"CA_SIN",
          R"((?i)\b(?:sin|social insurance(?: number| no\.?)?)\s{0,3}(?:#|number|no\.?)?\s{0,3}[:=#]?\s{0,3}(\d{9})\b)",
          valid_labelled_sin, 1}},
        {"iban", "iban", {"IBAN", R"(\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b)", valid_iban}},
    };
}

const std::vector<TypeSwitch> pii_switches = {{"email"},       {"phone"},   {"credit_card"}, {"ip_address"},
                                              {"national_id"}, {"iban"},    {"ipv4"},        {"ipv6"},
                                              {"us_ssn"},      {"uk_nino"}, {"ca_sin"}};

class BasicPiiFilter : public DetectionPlugin {
public:
    static constexpr PluginInfo info{
        "basic_pii_filter",
        "0.1.0",
        "Blocks, redacts or records personal data: email, phone, payment cards, IP addresses, national ids, IBANs",
        kind_security,
        thread_safe,
        "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{" WATCHGATE_DETECTION_COMMON_SCHEMA
        ",\"pii_types\":" WATCHGATE_DETECTION_SWITCH_SCHEMA(
            "email, phone, credit_card, ip_address, national_id, iban, ipv4, ipv6, us_ssn, uk_nino, ca_sin") "}}"};

    explicit BasicPiiFilter(Config& config) : DetectionPlugin(config, "PII") {
        std::vector<std::string> enabled = read_type_switches(config, "pii_types", "PII type", pii_switches);
        // A list names types to look for: a group switches on its kinds, a kind its group.
        const json::Value* listed = config.raw("pii_types");
        const bool listed_form = listed && listed->is_array();
        set_patterns(config, select_patterns(pii_patterns(), [&](const PiiPattern& pattern) {
                         const bool group_on = contains(enabled, pattern.group);
                         const bool kind_on = contains(enabled, pattern.kind);
                         return listed_form ? group_on || kind_on : group_on && kind_on;
                     }));
    }
};

}  // namespace

WATCHGATE_PLUGIN(BasicPiiFilter)
