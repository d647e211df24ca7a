using Xunit;

namespace Closeloop.Text.Tests;

public class SignalDetectorTests
{
    private static bool Has(string text, string signal) => SignalDetector.Default.Detect(text).Contains(signal);

    public static TheoryData<string> ChurnThreats =>
    [
        "If this isn't fixed by Friday I will cancel my account.",
        "Please close my account.",
        "I want to cancel my subscription today",
        "I'm switching to Verizon next month",
        "Honestly thinking of switching to another bank",
        "I will take my business elsewhere.",
        "You have lost a customer.",
        "I'm leaving.",
        "We are leaving, this is the last straw",
        "Cancel the contract with you, I'm done",
        "I will never use your company again",
        "Won't be using this service again",
        "I'm done with you people",
        "Time to look for another provider",
        "I want to port my number to a different carrier",
        "Closing all my accounts with this bank tomorrow",
        "I can't cancel my membership online, it is ridiculous",
        "Going to move to a competitor",
    ];

    public static TheoryData<string> NotChurnThreats =>
    [
        "I'm not going to cancel, I just want the fee back",
        "I don't want to close my account, please fix the card",
        "How do I cancel my order? It was a mistake",
        "I'm leaving for vacation tomorrow, can you expedite",
        "Switching to paperless billing was easy",
        "No need to cancel the subscription, it's sorted",
        "I will use your service again, thanks",
        "The agent helped me change my plan",
        "I never want to leave such a great bank",
        "My card was cancelled after it was stolen",
    ];

    public static TheoryData<string> LegalThreats =>
    [
        "I will be contacting my lawyer.",
        "My attorney will hear about this",
        "I am going to sue you",
        "I'll sue!",
        "Filing a complaint with the CFPB today",
        "I have reported this to the Better Business Bureau",
        "Expect a complaint to the BBB",
        "Escalating to the financial ombudsman",
        "I will take legal action",
        "See you in small claims court",
        "This will go to the regulator",
        "I will take you to court over this",
        "Considering a class action",
        "I'm writing to the attorney general",
        "Our solicitors will be in touch",
        "I am reporting you to the FTC",
    ];

    public static TheoryData<string> NotLegalThreats =>
    [
        "I don't want to involve lawyers, just fix it",
        "I'm not going to sue anyone, I just want my money",
        "Sue at the branch was very helpful",
        "The food court was closed",
        "I will not take legal action if you refund me today",
        "Thanks for the help with the complaint",
        "The agent explained the policy clearly",
        "My court date is next week so I need my card",
        "Please send me the form again",
        "Great service as always",
    ];

    public static TheoryData<string> ProfaneComments =>
    [
        "This is fucking ridiculous",
        "What the fuck is going on",
        "Total bullshit",
        "this app is shit",
        "Your service is crap",
        "Damn it, again?",
        "The agent was an asshole",
        "WTF is this charge",
        "You guys are a bunch of bastards",
        "I'm so pissed off",
        "What the hell happened to my order",
        "F*ck this company",
        "Screw you and your fees",
        "The manager was a total prick",
        "Stop this crappy service",
        "go to hell",
    ];

    public static TheoryData<string> CleanComments =>
    [
        "I visited Scunthorpe last week",
        "The assessment of my claim took long",
        "First class service, thank you",
        "I loved the cocktail bar",
        "The passion of the staff is great",
        "I was reading Dickens while on hold",
        "Shitake mushrooms were missing from my order",
        "The assistant was very helpful",
        "Please pass my thanks to the team",
        "Hello, hello, is anyone there",
        "I will cancel the hashtag campaign",
    ];

    public static TheoryData<string> UrgentComments =>
    [
        "Please call me back ASAP",
        "This is urgent",
        "I need my money immediately",
        "It's an emergency, my card is blocked abroad",
        "Fix this right now",
        "Please help me right away",
        "Respond as soon as possible",
        "This is time sensitive",
        "I need this resolved today",
        "Urgently need to unblock my card",
        "I can't wait any longer for the refund",
        "High priority: payroll failed",
        "I need help now",
        "We need immediate assistance",
        "Please do it straight away",
        "I am desperate, rent is due",
    ];

    public static TheoryData<string> CalmComments =>
    [
        "It's not urgent, whenever you have time",
        "No rush at all",
        "This is not an emergency",
        "The agent immediately understood the problem and fixed it",
        "Right now I'm happy with the service",
        "Thanks for the quick reply",
        "Not urgent but I'd like a call next week",
        "I have no urgency about this",
        "The app works fine",
        "Please send the statement when you can",
    ];

    [Theory]
    [MemberData(nameof(ChurnThreats))]
    public void DetectsChurnThreats(string text) => Assert.True(Has(text, Signals.ChurnThreat), text);

    [Theory]
    [MemberData(nameof(NotChurnThreats))]
    public void IgnoresNegatedOrUnrelatedChurnWords(string text) => Assert.False(Has(text, Signals.ChurnThreat), text);

    [Theory]
    [MemberData(nameof(LegalThreats))]
    public void DetectsLegalAndRegulatorThreats(string text) => Assert.True(Has(text, Signals.LegalThreat), text);

    [Theory]
    [MemberData(nameof(NotLegalThreats))]
    public void IgnoresNegatedOrUnrelatedLegalWords(string text) => Assert.False(Has(text, Signals.LegalThreat), text);

    [Theory]
    [MemberData(nameof(ProfaneComments))]
    public void DetectsProfanity(string text) => Assert.True(Has(text, Signals.Profanity), text);

    [Theory]
    [MemberData(nameof(CleanComments))]
    public void MatchesWholeWordsSoScunthorpeIsClean(string text) => Assert.False(Has(text, Signals.Profanity), text);

    [Theory]
    [MemberData(nameof(UrgentComments))]
    public void DetectsUrgency(string text) => Assert.True(Has(text, Signals.Urgency), text);

    [Theory]
    [MemberData(nameof(CalmComments))]
    public void IgnoresNegatedOrIncidentalUrgencyWords(string text) => Assert.False(Has(text, Signals.Urgency), text);

    [Fact]
    public void ReportsEverySignalOnceInCanonicalOrder()
    {
        var signals = SignalDetector.Default.Detect("URGENT: fix this shit now or I will sue and cancel my account, damn it");
        Assert.Equal([Signals.ChurnThreat, Signals.LegalThreat, Signals.Profanity, Signals.Urgency], signals);
    }

    [Fact]
    public void EmptyTextHasNoSignals() => Assert.Empty(SignalDetector.Default.Detect(""));

    [Fact]
    public void HandlesCurlyApostrophesAndLongText()
    {
        Assert.False(Has("I\u2019m not going to cancel my account", Signals.ChurnThreat));
        var longText = string.Concat(Enumerable.Repeat("the card works fine. ", 300)) + "cancel my account";
        Assert.True(Has(longText, Signals.ChurnThreat));
    }
}
