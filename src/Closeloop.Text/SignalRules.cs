namespace Closeloop.Text;

/// <summary>
/// The English rule tables behind <see cref="SignalDetector.Default"/>, written from how customers phrase these
/// things in complaints, surveys and chat, not fitted to any test set. Pattern syntax: see <see cref="SignalRule"/>.
/// </summary>
internal static class SignalRules
{
    // Words that cancel an intent in the four words before a negatable rule. "can't" and "couldn't" are left out on
    // purpose: "I can't cancel my account online" is still someone trying to leave.
    public static readonly string[] Negators =
    [
        "not", "never", "no", "nobody", "don't", "dont", "won't", "wont", "wouldn't", "wouldnt", "didn't", "didnt",
        "doesn't", "doesnt", "isn't", "isnt", "aren't", "arent", "wasn't", "wasnt", "shouldn't", "shouldnt",
        "ain't", "aint", "nor", "without",
    ];

    // Words that start a new clause, so a negation before them does not reach the rule after them.
    public static readonly string[] ClauseStarts =
    [
        "i", "i'm", "im", "i'll", "ill", "i've", "we", "we're", "we'll", "then", "or", "otherwise", "else", "unless",
        "if", "and", "but", "so", "because", "until",
    ];

    private const string Ending = "cancel|cancels|cancelling|canceling|cancelled|canceled|close|closing|closed|terminate|terminating|terminated|end|ending|delete|deleting|discontinue|discontinuing";
    private const string Owner = "my|our|the|this|your|his|her|their|mine";
    private const string Relationship = "account|accounts|subscription|subscriptions|membership|memberships|service|services|contract|contracts|plan|plans|policy|policies|line|lines|package|broadband|insurance|mortgage|loan|loans|relationship|profile";
    private const string Provider = "bank|banks|provider|providers|company|companies|carrier|carriers|supplier|suppliers|insurer|insurers|network|networks|airline|airlines|service|services|lender|isp|broker|store|retailer|business|firm";
    private const string Competitor = "competitor|competitors|competition|rival|rivals";
    private const string Switching = "switch|switching|switched|move|moving|moved|go|going|went|leave|leaving|change|changing|port|porting|transfer|transferring|jump|jumping";
    private const string Asking = "need|needs|must|please|want|wants|require|requires|expect|demand|fix|resolve|sort|refund|call|respond|reply|send|cancel|stop|reverse|return|restore|unblock|unlock|reactivate|release|help|speak|talk|escalate|act|attention";

    public static IEnumerable<SignalRule> Default =>
    [
        .. Churn.Select(p => new SignalRule(Signals.ChurnThreat, p)),
        .. ChurnSelfNegated.Select(p => new SignalRule(Signals.ChurnThreat, p, Negatable: false)),
        .. Legal.Select(p => new SignalRule(Signals.LegalThreat, p)),
        .. ProfanityWords.Select(p => new SignalRule(Signals.Profanity, p, Negatable: false)),
        .. ProfanityPhrases.Select(p => new SignalRule(Signals.Profanity, p, Negatable: false)),
        .. Urgent.Select(p => new SignalRule(Signals.Urgency, p)),
    ];

    private static readonly string[] Churn =
    [
        $"{Ending} all|both|every? {Owner} *? {Relationship}",
        $"{Ending} {Owner}? {Relationship} with you|your|them|u",
        $"{Switching} over? to|with another|other|a|the new|different|cheaper|better|other? {Provider}|{Competitor}",
        $"{Switching} over? to|with {Competitor}",
        $"switch|switching|switched|change|changing|changed {Provider}",
        "switch|switching|switched|moving|going|port|porting over? to ^",
        "take|taking|took|move|moving|moved|bring|bringing|taken my|our business|money|custom|accounts|account|savings elsewhere|somewhere|to",
        "i'm|im|we're|were leaving $",
        "i|we am|are leaving $",
        "i'm|im|we're|i|we am|are? leaving you|your|this",
        $"leaving|leave for another|a|other|the new|different|cheaper|better? {Provider}|{Competitor}",
        $"leave|leaving|quit|quitting|ditch|ditching|dump|dumping|drop|dropping|abandon|abandoning you|your|this {Provider}",
        $"leave|leaving|quit|quitting|ditch|ditching|dump|dumping you|u $",
        $"done|finished|through with you|u|your|this {Provider}?",
        $"find|finding|look|looking|shop|shopping|search|searching for|around? another|a|other|new|different|better|cheaper? {Provider}",
        "port|porting my|our number|numbers",
        "lost|losing|lose a|my|our|this customer|client|business|custom",
        "stop|stopping|end|ending|cease|ceasing doing business with",
        "close|closing|cancel|cancelling|canceling out? everything|it $",
        "taking|take my|our business elsewhere",
        "unsubscribe|unsubscribing from your|this service|services|plan|membership",
    ];

    // These phrases carry their own negation ("never use you again"), so the negation guard must not veto them.
    private static readonly string[] ChurnSelfNegated =
    [
        "never use|using|shop|shopping|order|ordering|buy|buying|fly|flying|book|booking|bank|banking|deal|dealing|do|doing|stay|staying with|at|from|business? you|your|this|them|here|u *? again|ever",
        "won't|wont|never|not be? use|using|shop|shopping|order|ordering|buy|buying|fly|flying|banking|dealing|doing with|at|from|business? you|your|this|them|here|u *? again|anymore|ever",
        "not|never renewing|renew my|our|the|this *? subscription|membership|contract|policy|plan",
        "no longer want|need your|this|the *? service|services|account|subscription|membership",
    ];

    private static readonly string[] Legal =
    [
        "lawyer|lawyers|attorney|attorneys|solicitor|solicitors|lawsuit|lawsuits|litigation|litigate|litigating|barrister",
        "sue|suing|sued you|your|u|the|this|them|for|over|and|unless|if|because",
        "will|gonna|to|i'll|ill|shall|and|then sue|suing $",
        "suing",
        "legal action|actions|proceedings|recourse|counsel|advice|remedies|remedy|steps|team|department|route|case",
        "take|taking|see|seeing|drag|dragging you|u|this|them|it|the|your company|bank|business? to court",
        "small claims",
        "class action",
        "court case|order|claim",
        "cfpb|bbb|ombudsman|ombudsmen|regulator|regulators|fca|ftc|fcc|occ|finra|ofcom|ofgem|accc",
        "better business bureau",
        "consumer financial protection|protection? bureau",
        "attorney general",
        "consumer protection agency|office|bureau|department",
        "trading standards",
        "report|reporting|reported you|u|this|them|it to the? police|authorities|regulator|regulators|government|state",
    ];

    private static readonly string[] ProfanityWords =
    [
        "fuck|fucks|fucked|fucker|fuckers|fucking|fuckin|fuckn|fuckery|motherfucker|motherfuckers|motherfucking|fck|fcking|fckin|fuk|fuking|fking|fkn|f*ck|f*cking|f*cked|f**k|f**king|f***|f***ing|fu*k",
        "shit|shits|shitty|shite|shithole|shitshow|bullshit|horseshit|sh*t|s**t|sh*tty",
        "crap|crappy|craptastic",
        "damn|damned|dammit|damnit|goddamn|goddamned|goddam|goddammit",
        "ass|asshole|assholes|a**hole|a**holes|arse|arsehole|arseholes|dumbass|jackass|jackasses|smartass",
        "bitch|bitches|bitching|bitchy|b*tch|biatch",
        "bastard|bastards|dickhead|dickheads|prick|pricks|twat|twats|wanker|wankers|tosser|tossers|bollocks|bugger|scumbag|scumbags",
        "piss|pissed|pissing|pisses",
        "cunt|cunts|c*nt",
        "douche|douchebag|douchebags|whore|whores|slut|sluts",
        "wtf|stfu|gtfo|omfg|ffs",
    ];

    private static readonly string[] ProfanityPhrases =
    [
        "what|why|who|where|how the hell",
        "go to hell",
        "bloody hell",
        "screw you|u|this|them|that",
        "hell no",
    ];

    private static readonly string[] Urgent =
    [
        "asap|urgent|urgently|urgency|emergency|emergencies",
        "a s a p",
        "as soon as possible",
        "time sensitive|critical",
        "immediate attention|action|response|help|assistance|refund|fix|resolution|callback",
        "high|top|highest|utmost priority",
        "right away",
        "straight away",
        "without delay",
        "at once $",
        "can't|cannot|cant|couldn't wait any|much longer",
        "desperate|desperately",
        "critical issue|issues|problem|problems|situation|matter|failure|outage|error|bug",
        "life or death",
        $"{Asking} *? *? *? immediately|today|tonight|straightaway",
        $"{Asking} *? *? now",
        $"{Asking} *? *? right now",
    ];
}
