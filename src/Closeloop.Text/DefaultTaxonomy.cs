namespace Closeloop.Text;

/// <summary>
/// The root causes a new Closeloop installation starts with: two-level codes (area.cause) with English keywords
/// and phrases as customers write them. Keywords match whole words; a trailing '*' matches word endings.
/// </summary>
/// <remarks>
/// The phrases were written from how customers describe these problems in complaints, surveys and chat, not fitted
/// to any evaluation set. They only seed predictions: learned examples take over as they arrive.
/// </remarks>
public static class DefaultTaxonomy
{
    public static IReadOnlyList<CauseDefinition> Causes { get; } =
    [
        new("process.long-wait",
        [
            "on hold", "hold time", "hold times", "wait time", "wait times", "waiting time", "waited", "waiting for hours",
            "kept waiting", "long wait", "long queue", "queue for", "in the queue", "took forever", "taking forever",
            "hours on the phone", "minutes on hold", "an hour", "still waiting", "slow response", "slow to respond",
            "no response", "took weeks", "takes weeks", "so long", "too long", "ages",
        ]),
        new("process.transfers",
        [
            "transferred", "transfered", "transfer me", "transferring me", "passed around", "passed from", "bounced around",
            "bounced between", "kept transferring", "another department", "different department", "department to department",
            "put through to", "handed off", "handed over", "one person to another", "runaround", "run around",
        ]),
        new("process.no-callback",
        [
            "call back", "call me back", "callback", "called back", "never called", "never rang", "promised to call",
            "said they would call", "no one called", "nobody called", "never heard back", "didn't hear back",
            "no follow up", "no follow-up", "follow up", "never got back", "get back to me", "didn't get back",
            "still no reply", "never returned my call", "no email back",
        ]),
        new("knowledge.agent-lacked-info",
        [
            "didn't know", "did not know", "doesn't know", "no idea", "had no clue", "clueless", "couldn't answer",
            "could not answer", "unable to answer", "not trained", "untrained", "poorly trained", "lack of knowledge",
            "unknowledgeable", "inexperienced", "new to the job", "had to ask a supervisor", "had to check with",
            "didn't understand my", "couldn't explain",
        ]),
        new("knowledge.wrong-answer",
        [
            "wrong information", "incorrect information", "misinformation", "misinformed", "misled", "told me wrong",
            "was told", "were told", "told me that", "conflicting information", "contradictory", "different answer",
            "different answers", "gave me the wrong", "false information", "inaccurate information", "lied",
            "not what i was told", "contrary to what",
        ]),
        new("knowledge.kb-gap",
        [
            "faq", "faqs", "help article", "help articles", "help page", "help centre", "help center", "documentation",
            "instructions", "no information", "information online", "couldn't find", "could not find", "can't find",
            "nowhere on", "not explained", "not clear", "unclear", "confusing", "no guidance", "knowledge base",
            "terms and conditions", "fine print", "small print",
        ]),
        new("people.agent-attitude",
        [
            "rude", "rudely", "impolite", "disrespectful", "condescending", "patronising", "patronizing", "arrogant",
            "dismissive", "unprofessional", "unhelpful", "hung up", "hang up", "hung up on me", "attitude", "yelled",
            "shouted", "sarcastic", "didn't care", "did not care", "couldn't care less", "uncaring", "unfriendly",
            "treated me", "talked down", "laughed at", "argumentative", "belittled",
        ]),
        new("product.defect",
        [
            "broken", "broke", "faulty", "defect*", "doesn't work", "does not work", "didn't work", "stopped working",
            "not working", "malfunction*", "crash*", "bug", "bugs", "buggy", "glitch*", "error", "errors", "damaged",
            "cracked", "leak*", "won't turn on", "dead on arrival", "keeps freezing", "froze", "poor quality",
            "fell apart", "overheat*",
        ]),
        new("product.missing-feature",
        [
            "missing feature", "doesn't have", "does not have", "no option", "no way to", "not possible to",
            "should be able to", "would be nice", "wish it", "wish you", "feature request", "please add", "add an option",
            "doesn't support", "does not support", "not supported", "no support for", "can't even", "lacks", "lacking",
            "need the ability", "no ability to",
        ]),
        new("policy.refund-rules",
        [
            "refund policy", "no refund", "no refunds", "refused a refund", "refuse to refund", "refused to refund",
            "won't refund", "will not refund", "non-refundable", "nonrefundable", "return policy", "returns policy",
            "return window", "restocking fee", "store credit", "voucher instead", "policy", "policies",
            "against policy", "not eligible", "eligible for a refund", "30 days", "14 days",
        ]),
        new("billing.incorrect-charge",
        [
            "charged twice", "double charged", "double charge", "duplicate charge", "overcharged", "over charged",
            "wrong amount", "incorrect charge", "incorrect amount", "charged me", "charged for", "unauthori*",
            "billing error", "billed twice", "billed incorrectly", "wrong bill", "incorrect bill", "still charged",
            "charged after", "never ordered", "didn't order", "did not authorize", "did not authorise", "debited",
        ]),
        new("billing.fees",
        [
            "fee", "fees", "late fee", "overdraft", "overdraft fee", "service charge", "hidden charge", "hidden charges",
            "hidden fee", "hidden fees", "admin fee", "surcharge", "commission", "interest charge", "penalty", "penalties",
            "monthly charge", "annual fee", "maintenance fee", "transaction fee", "exchange rate", "markup",
        ]),
        new("logistics.late-delivery",
        [
            "late delivery", "delivery was late", "arrived late", "not arrived", "hasn't arrived", "has not arrived",
            "hasn't been delivered", "not been delivered", "still not delivered", "delayed", "delay", "delays",
            "still waiting for my order", "where is my order", "where's my order", "estimated delivery", "delivery date",
            "missed delivery", "shipping", "dispatch*", "tracking",
        ]),
        new("logistics.lost-item",
        [
            "lost", "lost parcel", "lost package", "lost in the post", "lost in transit", "never arrived", "never received",
            "never got my", "didn't receive", "did not receive", "missing parcel", "missing package", "missing item",
            "missing items", "stolen", "wrong address", "delivered to the wrong", "marked as delivered", "says delivered",
            "not in the box", "empty box",
        ]),
        new("channel.ivr-maze",
        [
            "automated system", "automated phone", "automated menu", "phone menu", "press 1", "press one", "options menu",
            "menu options", "keypad", "ivr", "robot", "recorded message", "recording", "couldn't get through",
            "can't get through", "cannot get through", "talk to a human", "speak to a human", "speak to a person",
            "real person", "live person", "no option to speak", "went in circles", "loop", "looping",
        ]),
        new("channel.digital-self-service",
        [
            "app", "website", "web site", "online", "log in", "login", "logon", "sign in", "password", "portal",
            "chatbot", "chat bot", "bot", "self service", "self-service", "online form", "web form", "the site",
            "mobile app", "two factor", "verification code", "locked out", "reset my password", "page", "click",
        ]),
        new("routing.wrong-queue",
        [
            "wrong department", "wrong team", "wrong person", "wrong queue", "wrong number", "not the right department",
            "not their department", "not my department", "wasn't their department", "not the right team",
            "couldn't help me with", "had to call another", "had to call a different", "redirected", "misrouted",
            "sent to the wrong", "nothing to do with",
        ]),
    ];
}
