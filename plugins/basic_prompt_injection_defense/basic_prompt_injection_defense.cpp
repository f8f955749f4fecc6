// basic_prompt_injection_defense: finds prompt-injection phrasing (instruction overrides, role
// impersonation, fake chat delimiters, exfiltration instructions) and hidden-text tricks in every
// string of a message, tool descriptions of tools/list results included (tool poisoning).
#include "detection.hpp"

#include <algorithm>
#include <span>
#include <string>

using namespace watchgate;
using namespace watchgate::detection;

namespace {

enum Sensitivity { relaxed = 0, standard = 1, strict = 2 };

// Unicode tag characters also spell subdivision flags (England: U+1F3F4 then tags): not hidden text.
bool not_a_flag_sequence(std::string_view text, std::size_t& begin, std::size_t&) {
    return begin < 4 || text.substr(begin - 4, 4) != "\xF0\x9F\x8F\xB4";
}

// A byte order mark opening the text is ordinary; one inside it is not.
bool not_leading(std::string_view, std::size_t& begin, std::size_t&) { return begin > 0; }

struct InjectionPattern {
    const char* category;  // detection_methods switch
    Sensitivity level;     // the lowest sensitivity that uses it
    PatternSpec spec;
};

constexpr const char* hijacking = "CONTEXT_HIJACKING";
constexpr const char* role = "ROLE_MANIPULATION";
constexpr const char* delimiter = "DELIMITER_INJECTION";
constexpr const char* exfiltration = "EXFILTRATION";
constexpr const char* hidden = "HIDDEN_TEXT";

std::vector<InjectionPattern> injection_patterns() {
    return {
        // ---- instruction override ----
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:(?:all|any|the|of|your|my|these|those|every)\s+){0,3})"
          R"((?:previous|prior|above|earlier|preceding|foregoing|former|original|initial|system|existing))"
          R"((?:\s+(?:and|or|&)\s+(?:following|subsequent|later|future|below))?\s+)"
          R"((?:instructions?|prompts?|directions?|directives?|rules|guidelines|context|constraints|restrictions|)"
          R"(programming))"}},
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:forget|ignore|disregard)\s+(?:everything|all)\s+(?:(?:that\s+)?you(?:'ve|\s+have|\s+were)?\s+(?:been\s+)?)"
          R"((?:told|taught|learned|instructed|know)|above|before|previously|so\s+far))"}},
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:ignore|disregard|forget)\s+(?:(?:all|any|the|your)\s+){0,2}(?:instructions?|rules|prompts?|)"
          R"(directions|directives|guidelines)\s+(?:above|before|given\s+(?:above|before|earlier)|you\s+(?:were|have\s+been)\s+)"
          R"(given|so\s+far))"}},
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:ignore|disregard|forget)\s+(?:everything|all|anything)\s+(?:(?:written|said|stated|mentioned|)"
          R"(written)\s+)?(?:above|before\s+(?:this|that|now)|previously|prior\s+to\s+(?:this|that)))"}},
        {"context_hijacking",
         standard,
         {hijacking,
          R"((?i)\b(?:forget|ignore|disregard|abandon|discard|override|bypass)\s+(?:all\s+)?your\s+(?:instructions|rules|guidelines|)"
          R"(programming|training|directives|system\s+prompt|restrictions))"}},
        // Tool poisoning asks the model to hide what it does.
        {"context_hijacking",
         standard,
         {hijacking,
          R"((?i)\b(?:do\s+not|don't|never)\s+(?:tell|inform|mention\s+(?:this|it)\s+to|reveal\s+(?:this|it)\s+to|)"
          R"(notify|alert|show\s+(?:this|it)\s+to)\s+the\s+user\b|\bwithout\s+(?:telling|informing|notifying|)"
          R"(alerting|asking)\s+the\s+user\b)"}},
        {"context_hijacking",
         standard,
         {hijacking,
          R"((?i)\b(?:ignore|disregard)\s+(?:(?:all|any|the|your)\s+){0,2}(?:instructions|safety\s+(?:guidelines|rules|)"
          R"(policies)|content\s+polic(?:y|ies)|guardrails)\b)"}},
        {"context_hijacking",
         standard,
         {hijacking, R"((?i)\b(?:new|updated|revised|real|actual|true|secret)\s+(?:system\s+)?instructions?\s*:)"}},
        {"context_hijacking",
         standard,
         {hijacking,
          R"((?i)\b(?:your|the)\s+new\s+(?:instructions|rules|task|directives?|objective)\s+(?:is|are)\b|)"
          R"(\bhere\s+are\s+your\s+new\s+instructions\b|\bstop\s+following\s+your\s+(?:instructions|rules|guidelines))"}},
        {"context_hijacking",
         standard,
         {hijacking,
          R"((?i)\bdo\s+not\s+(?:follow|obey)\s+(?:your|the|any)\s+(?:previous|prior|original|system|earlier)\s+)"
          R"((?:instructions|rules|prompt|guidelines))"}},
        {"context_hijacking",
         standard,
         {hijacking,
          R"((?i)\bfrom\s+now\s+on\s*,?\s+(?:you\s+(?:will|must|shall|should|are\s+to)|only|always|never)\s+)"
          R"((?:respond|reply|answer|follow|obey|say|output|ignore|refuse))"}},
        {"context_hijacking", standard, {hijacking, R"((?i)\bignore\s+(?:the\s+)?(?:above|previous|prior)\s+and\b)"}},
        {"context_hijacking",
         strict,
         {hijacking,
          R"((?i)\b(?:reset|clear|wipe|erase)\s+(?:your|the|all)\s+(?:context|memory|instructions|conversation))"}},
        {"context_hijacking",
         strict,
         {hijacking, R"((?i)\b(?:forget|ignore)\s+(?:everything|all\s+(?:of\s+)?that)\b)"}},

        // Overrides in other languages: "ignore / forget the previous instructions" and
        // "forget everything above", imperative forms (familiar and polite). Where the imperative
        // is also a plain statement ("el sistema ignora las reglas"), "previous" (or the like)
        // is required, as in English.
        // Spanish
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:ignora|ignore|ignorad|olvida|olvide|olvidad|descarta|descarte|omite|omita|desobedece|pasa\s+por\s+alto))"
          R"(\s+(?:(?:todas?|todo|las|los|tus|sus|vuestras|mis|estas|esas|cualquier)\s+){0,3})"
          R"((?:instrucciones|indicaciones|reglas|[oó]rdenes|directrices|directivas|normas|restricciones))"
          R"((?:\s+(?:anteriores|previas|precedentes|originales|iniciales|de\s+arriba|del\s+sistema|que\s+(?:te|le)\s+dieron)))"}},
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:olvida|olvide|ignora|ignore)\s+todo\s+lo\s+(?:anterior|que\s+(?:te|le)\s+(?:dije|dijeron|han\s+dicho)))"}},
        // French
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:ignore[sz]?|oublie[sz]?|n[eé]glige[sz]?|)"
          R"((?:ne\s+(?:tiens|tenez)\s+pas\s+compte|fai(?:s|tes)\s+abstraction)\s+(?:des|du|de|d')))"
          R"((?:\s+|')?(?:(?:toutes|tous|les|tes|vos|ces|des|de\s+toutes\s+les)\s+){0,3})"
          R"((?:instructions|consignes|r[eè]gles|directives|indications|ordres|restrictions))"
          R"((?:\s+(?:pr[eé]c[eé]dentes|ant[eé]rieures|ci-dessus|initiales|originales|du\s+syst[eè]me|qu'on\s+t'a\s+donn[eé]es)))"}},
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:oublie[sz]?|ignore[sz]?)\s+tout\s+ce\s+qu(?:i|e)\s+(?:pr[eé]c[eè]de|pr[eé]c[eé]dait|est\s+au-dessus|on\s+t'a\s+dit))"}},
        // German
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:ignoriere|ignorier|ignorieren\s+sie|vergiss|vergessen\s+sie|missachte|missachten\s+sie|[uü]bergehe))"
          R"(\s+(?:(?:alle|s[aä]mtliche|die|deine|ihre|diese|jegliche)\s+){0,2})"
          R"((?:(?:vorherigen|bisherigen|vorigen|obigen|fr[uü]heren|urspr[uü]nglichen|vorangegangenen|gegebenen)\s+){1,2})"
          R"((?:anweisungen|instruktionen|regeln|vorgaben|befehle|richtlinien|einschr[aä]nkungen))"}},
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:vergiss|vergessen\s+sie|ignoriere|ignorieren\s+sie)\s+(?:alles|all\s+das),?\s+(?:was\s+)?(?:oben|vorher|zuvor|bisher|davor))"}},
        // Portuguese
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:ignore|ignora|ignorem|esque[cç]a|esque[cç]am|esquece|desconsidere|desconsidera|descarte|despreze))"
          R"(\s+(?:(?:todas?|as|os|suas|tuas|essas|estas|quaisquer)\s+){0,3})"
          R"((?:instru[cç][oõ]es|regras|orienta[cç][oõ]es|diretrizes|ordens|restri[cç][oõ]es|comandos))"
          R"((?:\s+(?:anteriores|pr[eé]vias|acima|originais|iniciais|do\s+sistema)))"}},
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:esque[cç]a|esquece|ignore|ignora)\s+tudo\s+(?:o\s+que\s+(?:foi\s+dito|te\s+disseram|lhe\s+disseram)|acima|antes))"}},
        // Italian
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:ignora|ignori|ignorate|dimentica|dimentichi|dimenticate|trascura|trascuri|non\s+seguire))"
          R"(\s+(?:(?:tutte|tutti|le|gli|i|tue|sue|queste|qualsiasi)\s+){0,3})"
          R"((?:istruzioni|regole|indicazioni|direttive|ordini|restrizioni|consegne))"
          R"((?:\s+(?:precedenti|sopra|originali|iniziali|di\s+sistema|ricevute)))"}},
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:dimentica|dimentichi|ignora|ignori)\s+tutto\s+(?:quello\s+che|ci[oò]\s+che)\s+(?:ti\s+)?(?:[eè]\s+stato\s+detto|hai\s+letto|precede))"}},
        // Dutch
        {"context_hijacking",
         relaxed,
         {hijacking, R"((?i)\b(?:negeer|vergeet|verwaarloos)\s+(?:(?:alle|al|de|je|jouw|uw|deze)\s+){0,2})"
                     R"((?:(?:vorige|eerdere|voorgaande|bovenstaande|oorspronkelijke|gegeven)\s+))"
                     R"((?:instructies|regels|aanwijzingen|opdrachten|richtlijnen|beperkingen))"}},
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)\b(?:vergeet|negeer)\s+alles\s+(?:wat\s+(?:hierboven\s+staat|je\s+is\s+verteld|eerder\s+is\s+gezegd)|hierboven|hiervoor))"}},
        // Russian
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)(?:игнорируй|игнорируйте|проигнорируй|проигнорируйте|забудь|забудьте|не\s+обращай\s+внимания\s+на|отбрось|отмени))"
          R"(\s+(?:(?:все|всё|свои|ваши|твои|эти|любые)\s+){0,2})"
          R"((?:(?:предыдущие|прежние|предшествующие|вышеуказанные|вышеприведённые|вышеприведенные|исходные|системные|данные\s+тебе)\s+)?)"
          R"((?:инструкции|указания|правила|команды|ограничения|установки))"}},
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?i)(?:забудь|забудьте|игнорируй|игнорируйте)\s+вс[её],?\s+(?:что\s+(?:было\s+)?(?:сказано|написано|тебе\s+говорили)|выше|ранее))"}},
        // Chinese (simplified and traditional)
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?:忽略|忽視|忽视|无视|無視|不要理会|不要理會|不理会|忘记|忘記|忘掉|抛开|拋開|放弃|放棄)\s*(?:掉)?\s*)"
          R"((?:之前|以上|上面|上述|先前|前面|此前|原来|原來|原先|所有|全部|你的|一切|系统|系統)\s*(?:的)?\s*(?:所有|全部|一切)?\s*(?:的)?\s*)"
          R"((?:指令|指示|说明|說明|规则|規則|提示|命令|要求|设定|設定|限制))"}},
        // Japanese
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?:以前|前|上記|これまで|最初|先ほど|以上|今まで)の\s*(?:すべての|全ての|全部の)?\s*)"
          R"((?:指示|命令|ルール|指令|プロンプト|設定|制約)\s*(?:を|は)\s*(?:すべて|全て|全部)?\s*(?:無視|忘れ))"}},
        {"context_hijacking",
         relaxed,
         {hijacking, R"((?:すべての|全ての)?(?:指示|命令|ルール)を(?:すべて|全て)?無視して)"}},
        // Korean
        {"context_hijacking",
         relaxed,
         {hijacking,
          R"((?:이전|위의|앞의|앞서|기존|지금까지의|모든)\s*(?:의\s*)?(?:모든\s*)?)"
          R"((?:지시|지침|명령|규칙|지시사항|지시\s*사항|프롬프트|제한)\s*(?:을|를|은|는|들을)?\s*(?:모두\s*|전부\s*)?(?:무시|잊어))"}},

        // Role impersonation: the speaker claims a role that gives orders.
        {"role_manipulation",
         standard,
         {role,
          R"((?i)\bas\s+(?:the|your)\s+(?:system\s+)?(?:administrator|admin|developer|operator|owner|creator|)"
          R"(security\s+team|it\s+department)\s*,\s*(?:I|we)\s+(?:order|instruct|command|authori[sz]e|require|need)\b)"}},
        {"role_manipulation",
         standard,
         {role,
          R"((?i)\b(?:this\s+is|message\s+from)\s+(?:the|your)\s+(?:system\s+)?(?:administrator|developer|operator|)"
          R"(system)\s*[:.,-]\s*(?:you\s+(?:must|are\s+(?:now\s+)?(?:required|authori[sz]ed))|ignore|disregard|override))"}},

        // ---- role and system impersonation ----
        {"role_manipulation",
         relaxed,
         {role, R"((?i)\b(?:enable|enter|activate|switch\s+to|turn\s+on)\s+(?:developer|dev|god|admin|debug|jailbreak|)"
                R"(jailbroken|DAN|unrestricted|sudo)\s+mode\b)"}},
        {"role_manipulation",
         relaxed,
         {role, R"((?i)\byou\s+are\s+(?:now\s+)?(?:DAN|a\s+DAN|jailbroken|no\s+longer\s+(?:bound|restricted|limited|)"
                R"(an?\s+AI|an?\s+assistant|a\s+language\s+model))\b)"}},
        {"role_manipulation", relaxed, {role, R"((?i)\bdo\s+anything\s+now\b)"}},
        {"role_manipulation",
         relaxed,
         {role, R"((?i)\b(?:developer|god|jailbreak|DAN)\s+mode\s+(?:enabled|activated|engaged)\b)"}},
        {"role_manipulation", standard, {role, R"((?i)\b(?:act\s+as|you\s+are|pretend\s+to\s+be)\s+DAN\b)"}},
        {"role_manipulation", strict, {role, R"((?i)\bjailbreak(?:ing|ed)?\b|\bstay\s+in\s+character\b)"}},
        {"role_manipulation",
         standard,
         {role,
          R"((?i)\byou\s+are\s+now\s+(?:an?\s+|the\s+|my\s+)?(?:unrestricted|unfiltered|uncensored|evil|malicious|)"
          R"(jailbroken|in\s+(?:developer|god|admin|debug|jailbreak|unrestricted)\s+mode)\b)"}},
        {"role_manipulation",
         standard,
         {role, R"((?i)\b(?:act|behave|respond|operate)\s+as\s+(?:if\s+you\s+(?:are|were)\s+)?(?:an?\s+|the\s+)?)"
                R"((?:system|root|superuser|unrestricted|unfiltered|uncensored|jailbroken)\b)"}},
        {"role_manipulation",
         standard,
         {role,
          R"((?i)\b(?:act|behave|respond|operate|pretend|answer)\b[^.\n]{0,30}?\b(?:with\s+no|without(?:\s+any)?)\s+)"
          R"((?:restrictions|limits|limitations|filters|rules|guidelines|censorship|ethical\s+guidelines|safety))"}},
        {"role_manipulation",
         standard,
         {role,
          R"((?i)\bpretend\s+(?:to\s+be|you\s+are|you're|that\s+you\s+are)\s+(?:an?\s+|the\s+)?(?:unrestricted|)"
          R"(unfiltered|uncensored|evil|system|admin(?:istrator)?|different\s+ai|ai\s+without|model\s+without))"}},
        {"role_manipulation",
         standard,
         {role,
          R"((?im)(?:^|[.!:]\s)\s{0,8}(?:\[|\*\*|#{1,3}\s?)?(?:system|admin|administrator|developer|assistant)\s+)"
          R"((?:override|message|notice|instruction|prompt|alert|command|update)s?\s{0,2}(?:\]|\*\*)?\s{0,2}:(?:\*\*)?)"}},
        {"role_manipulation", standard, {role, R"((?i)\b(?:system|admin|security)\s+override\b)"}},
        {"role_manipulation",
         standard,
         {role,
          R"((?i)\bI\s+am\s+your\s+(?:developer|creator|administrator|admin|owner|operator|programmer|maker)\b)"}},
        {"role_manipulation",
         strict,
         {role, R"((?i)\b(?:you\s+are\s+now|from\s+now\s+on\s+you\s+are|act\s+as|pretend\s+to\s+be|roleplay\s+as|)"
                R"(role-play\s+as|impersonate)\s+(?:an?\s+|the\s+)?\w+)"}},
        {"role_manipulation", strict, {role, R"((?im)^\s{0,8}(?:system|assistant)\s{0,2}:)"}},

        // ---- fake delimiters and chat-template tokens ----
        {"delimiter_injection",
         relaxed,
         {delimiter,
          R"(<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|)"
          R"(begin_of_text|end_of_text|eom_id)\|>)"}},
        {"delimiter_injection", relaxed, {delimiter, R"(\[/?INST\]|<</?SYS>>|</?(?:start_of_turn|end_of_turn)>)"}},
        {"delimiter_injection",
         standard,
         {delimiter,
          R"((?i)<\s{0,2}/?\s{0,2}(?:system|system_prompt|sys|instructions?|admin|assistant|developer|im_start|im_end)\s{0,2}>)"}},
        // Tool poisoning wraps its orders in tags the model is likely to obey.
        {"delimiter_injection",
         standard,
         {delimiter, R"((?i)<\s{0,2}/?\s{0,2}(?:important|critical|secret|hidden|admin_note|system_note)\s{0,2}>)"}},
        {"delimiter_injection",
         standard,
         {delimiter, R"(\[/?(?:SYSTEM|ADMIN)\s(?:MESSAGE|PROMPT|OVERRIDE|INSTRUCTIONS?)\])"}},
        {"delimiter_injection", strict, {delimiter, R"(\[/?(?:SYSTEM|ADMIN)\])"}},
        {"delimiter_injection", standard, {delimiter, R"((?:^|\n)\n(?:Human|Assistant):)"}},
        {"delimiter_injection",
         standard,
         {delimiter, R"((?im)^\s{0,8}###\s?(?:system|instruction|new\s+instructions?)\s?:\s*\S)"}},
        {"delimiter_injection", standard, {delimiter, R"((?i)`{3}\s{0,2}(?:system|instructions?|admin)\b)"}},
        {"delimiter_injection",
         standard,
         {delimiter,
          R"((?i)(?:-{3,}|={3,}|\*{3,}|#{3,})\s{0,3}(?:end\s+of\s+(?:the\s+)?(?:system\s+)?(?:prompt|instructions|)"
          R"(context|document|user\s+input)|begin\s+(?:new\s+|system\s+)?instructions))"}},
        {"delimiter_injection",
         strict,
         {delimiter, R"((?im)^\s{0,8}#{2,4}\s{0,2}(?:system|instructions?|new\s+instructions?|admin)\s{0,2}:?\s*$)"}},

        // ---- exfiltration instructions ----
        {"exfiltration",
         relaxed,
         {exfiltration,
          R"((?i)\b(?:send|post|upload|forward|transmit|exfiltrate|leak|email|e-mail|mail|submit|copy)\s+)"
          R"((?:(?:all|the|any|your|this|these|my|of|every|user'?s?)\s+){0,3}(?:conversation|chat\s+history|)"
          R"(credentials?|secrets?|passwords?|api\s+keys?|keys|tokens?|system\s+prompt|instructions|)"
          R"(env(?:ironment)?\s+variables|\.env|ssh\s+keys?|private\s+keys?|cookies|session)\b)"
          R"([^\n]{0,60}?\b(?:to|at|into|via)\s+(?:https?://|ftp://|www\.|)"
          R"([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}|the\s+(?:following\s+)?(?:url|address|endpoint|server|)"
          R"(webhook|email)))"}},
        {"exfiltration",
         standard,
         {exfiltration,
          R"((?i)\b(?:send|post|upload|forward|transmit|exfiltrate|leak|email|e-mail|mail|submit|copy)\s+)"
          R"((?:(?:all|every|the|any|your|my|this|of)\s+){0,3}(?:user'?s?|customer'?s?|private|personal|all)\s+)"
          R"((?:data|information|files?|contents?|messages|emails|history|documents))"
          R"(\b[^\n]{0,60}?\b(?:to|at|into|via)\s+(?:https?://|ftp://|www\.|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}))"}},
        {"exfiltration",
         standard,
         {exfiltration, R"((?i)\b(?:reveal|print|show|output|repeat|display|leak|dump|disclose|tell\s+me)\s+(?:me\s+)?)"
                        R"((?:your|the)\s+(?:full\s+|entire\s+|complete\s+|hidden\s+|initial\s+|original\s+|exact\s+)?)"
                        R"((?:system\s+prompt|system\s+message|initial\s+prompt|hidden\s+(?:prompt|instructions)|)"
                        R"(instructions\s+(?:above|you\s+were\s+given)))"}},
        {"exfiltration",
         standard,
         {exfiltration,
          R"((?i)\b(?:reveal|print|show|output|repeat|display|leak|dump|disclose|tell\s+me)\s+(?:me\s+)?your\s+)"
          R"((?:\w+\s+)?(?:instructions|prompt|rules|guidelines|directives)\b|\bwhat\s+(?:was|is)\s+written\s+)"
          R"((?:at\s+the\s+(?:beginning|start|top)|above|before))"}},
        {"exfiltration",
         standard,
         {exfiltration,
          R"((?i)\b(?:include|append|add|embed|encode)\s+(?:(?:the|all|any)\s+){0,2}(?:conversation|chat\s+history|)"
          R"(user'?s?\s+data|api\s+keys?|secrets|credentials|passwords|tokens)\s+(?:in|into|to)\s+(?:the\s+|a\s+)?)"
          R"((?:url|link|image|query|request|markdown))"}},
        {"exfiltration",
         standard,
         {exfiltration,
          R"((?i)\b(?:read|cat|open|access|include|pass|send|attach|upload|copy|load)\b[^\n]{0,40}?)"
          R"((?:~/\.ssh|\bid_rsa\b|\bid_ed25519\b|/etc/passwd|/etc/shadow|\.aws/credentials|\bmcp\.json\b|)"
          R"(\.npmrc\b|\.pypirc\b|\.netrc\b|\.git-credentials\b|\.env\b))"}},
        {"exfiltration",
         standard,
         {exfiltration,
          R"((?i)\bwhat\s+(?:is|are|was|were)\s+your\s+(?:system\s+prompt|initial\s+instructions|original\s+)"
          R"(instructions|hidden\s+instructions)|\brepeat\s+(?:the\s+|all\s+)?(?:text|words|everything)\s+above\b)"}},
        {"exfiltration", strict, {exfiltration, R"(!\[[^\]\n]{0,100}\]\(https?://[^)\s]{1,200}\?[^)\s]{1,200}\))"}},
        {"exfiltration",
         strict,
         {exfiltration, R"((?i)\b(?:curl|wget)\s[^\n]{0,80}?(?:\s-d|--data|--upload-file|\s-T|\s-F)\s)"}},

        // ---- hidden text ----
        {"hidden_text", relaxed, {hidden, R"([\x{E0000}-\x{E007F}]+)", not_a_flag_sequence}},
        {"hidden_text", relaxed, {hidden, R"([\x{202D}\x{202E}])"}},
        {"hidden_text", relaxed, {hidden, R"([\x{200B}-\x{200D}\x{2060}\x{FEFF}]{3,})"}},
        {"hidden_text", standard, {hidden, R"([\x{202A}-\x{202C}\x{2066}-\x{2069}])"}},
        {"hidden_text", standard, {hidden, R"([\x{200B}\x{2060}\x{180E}]|[\x{200B}-\x{200D}\x{2060}\x{FEFF}]{2,})"}},
        {"hidden_text", standard, {hidden, R"(\x{FEFF})", not_leading}},
        {"hidden_text", strict, {hidden, R"([\x{200C}\x{200D}\x{200E}\x{200F}\x{2061}-\x{2064}])"}},
    };
}

// ---- quoted in a discussion ----

// The quote characters a phrase may be held in: ASCII, typographic, guillemets, CJK brackets.
constexpr std::string_view opening_quotes[] = {"\"", "'", "`", "\u201C", "\u2018", "\u00AB", "\u300C", "\u300E"};
constexpr std::string_view closing_quotes[] = {"\"", "'", "`", "\u201D", "\u2019", "\u00BB", "\u300D", "\u300F"};

// Words that say the quoted text is talked about, not said: "the phrase", "for example", "attack
// strings such as", "our filter blocks". Not "message" or "says": attacks come as "System message: …".
constexpr std::string_view discussion_cues[] = {"phrase",    "string",  "example", "e.g.",     "such as", "known as",
                                                "called",    "attack",  "inject",  "payload",  "detect",  "filter",
                                                "block",     "flag",    "pattern", "classic",  "typical", "quote",
                                                "jailbreak", "ejemplo", "exemple", "beispiel", "esempio", "voorbeeld"};

bool ends_with_any(std::string_view text, std::span<const std::string_view> endings, std::size_t& length) {
    for (std::string_view ending : endings)
        if (text.ends_with(ending)) {
            length = ending.size();
            return true;
        }
    return false;
}

// Is [begin, end) held in quotes, with a discussion cue shortly before the opening quote?
bool quoted_in_discussion(std::string_view text, std::size_t begin, std::size_t end) {
    // The opening quote: before the finding, within its line ("'Please ignore…", or a finding in
    // the middle of a quoted sentence).
    // A quote mark between letters is an apostrophe ("don't", "it’s"), not a quote: it opens and
    // closes nothing, or "It's an example: ignore all previous instructions, don't…" would pass.
    const auto letter_at = [&](std::size_t at) { return at < text.size() && is_alnum(text[at]); };
    std::size_t open = begin, length = 0;
    for (std::size_t back = 0; back <= 200 && open > 0; ++back) {
        if (ends_with_any(text.substr(0, open), opening_quotes, length) &&
            !(open > length && letter_at(open - length - 1)))
            break;
        length = 0;
        if (text[open - 1] == '\n') return false;
        --open;
    }
    if (length == 0) return false;
    open -= length;
    // The closing quote: after the finding, a few characters of its sentence at most.
    std::size_t close = end;
    bool closed = false;
    for (std::size_t ahead = 0; ahead <= 80 && close < text.size() && !closed; ++ahead) {
        for (std::string_view quote : closing_quotes)
            if (text.substr(close).starts_with(quote) && !letter_at(close + quote.size())) closed = true;
        if (!closed && text[close] == '\n') return false;
        if (!closed) ++close;
    }
    if (!closed) return false;
    // A cue in the 80 bytes before the quote, any case.
    const std::size_t from = open > 80 ? open - 80 : 0;
    std::string before(text.substr(from, open - from));
    for (char& c : before) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return std::any_of(std::begin(discussion_cues), std::end(discussion_cues), [&](std::string_view cue) {
        std::string lower(cue);
        for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        return before.find(lower) != std::string::npos;
    });
}

bool names_a_sink(std::string_view text, const Finding& finding) {
    if (std::string_view(finding.type) != exfiltration) return false;
    const std::string_view span = text.substr(finding.begin, finding.end - finding.begin);
    return span.find("://") != std::string_view::npos || span.find('@') != std::string_view::npos ||
           span.find("www.") != std::string_view::npos;
}

const std::vector<TypeSwitch> injection_switches = {
    {"delimiter_injection"}, {"role_manipulation"}, {"context_hijacking"}, {"exfiltration"}, {"hidden_text"}};

class BasicPromptInjectionDefense : public DetectionPlugin {
public:
    static constexpr PluginInfo info{
        "basic_prompt_injection_defense",
        "0.1.0",
        "Blocks, redacts or records prompt injection: instruction overrides, role "
        "impersonation, fake delimiters, exfiltration, hidden text",
        kind_security,
        thread_safe,
        "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{" WATCHGATE_DETECTION_COMMON_SCHEMA
        ",\"sensitivity\":{\"enum\":[\"relaxed\",\"standard\",\"strict\"],"
        "\"default\":\"standard\"},\"detection_methods\":" WATCHGATE_DETECTION_SWITCH_SCHEMA(
            "context_hijacking, role_manipulation, delimiter_injection, exfiltration, "
            "hidden_text") "}}"};

    explicit BasicPromptInjectionDefense(Config& config) : DetectionPlugin(config, "prompt injection") {
        sensitivity_ = config.choice<Sensitivity>(
            "sensitivity", {{"relaxed", relaxed}, {"standard", standard}, {"strict", strict}}, standard);
        const std::vector<std::string> enabled =
            read_type_switches(config, "detection_methods", "detection method", injection_switches);
        set_patterns(config, select_patterns(injection_patterns(), [&](const InjectionPattern& pattern) {
                         return pattern.level <= sensitivity_ && contains(enabled, pattern.category);
                     }));
    }

    // Below strict, a phrase quoted in a discussion of it ("the classic attack string 'ignore all
    // previous instructions' is blocked") is talked about, not said. Hidden text is never
    // discussed, and an exfiltration order that names where to send (a URL, an address) is
    // reported wherever it stands: quoting one as an example must not be a way to send the
    // conversation somewhere.
    void find(std::string_view text, std::vector<Finding>& out) const override {
        const std::size_t before = out.size();
        DetectionPlugin::find(text, out);
        if (sensitivity_ == strict) return;
        out.erase(std::remove_if(out.begin() + static_cast<std::ptrdiff_t>(before), out.end(),
                                 [&](const Finding& finding) {
                                     return finding.type != hidden && !names_a_sink(text, finding) &&
                                            quoted_in_discussion(text, finding.begin, finding.end);
                                 }),
                  out.end());
    }

private:
    Sensitivity sensitivity_ = standard;
};

}  // namespace

WATCHGATE_PLUGIN(BasicPromptInjectionDefense)
