using Xunit;

namespace Closeloop.Text.Tests;

public class SentimentAnalyzerTests
{
    private static readonly SentimentAnalyzer Vader = SentimentAnalyzer.Default;

    private static double Compound(string text) => Vader.Analyze(text).Compound;

    // Compound scores printed by the reference implementation (vaderSentiment 3.3.2) for its own examples.
    [Theory]
    [InlineData("VADER is smart, handsome, and funny.", 0.8316)]
    [InlineData("VADER is smart, handsome, and funny!", 0.8439)]
    [InlineData("VADER is very smart, handsome, and funny.", 0.8545)]
    [InlineData("VADER is VERY SMART, handsome, and FUNNY.", 0.9227)]
    [InlineData("VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342)]
    [InlineData("VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", 0.9469)]
    [InlineData("VADER is not smart, handsome, nor funny.", -0.7424)]
    [InlineData("The book was good.", 0.4404)]
    [InlineData("At least it isn't a horrible book.", 0.431)]
    [InlineData("The book was only kind of good.", 0.3832)]
    [InlineData("The plot was good, but the characters are uncompelling and the dialog is not great.", -0.7042)]
    [InlineData("Today SUX!", -0.5461)]
    [InlineData("Today only kinda sux! But I'll get by, lol", 0.5249)]
    [InlineData("Make sure you :) or :D today!", 0.8633)]
    [InlineData("Not bad at all", 0.431)]
    public void MatchesTheReferenceImplementationOnItsExamples(string text, double expected) =>
        Assert.Equal(expected, Compound(text), 0.0005);

    // VADER's raters scored "credit", "interest", "security", "support" and "please help" as feelings; in a complaint
    // they name a card, a rate, a freeze, a department and a plea, so the shipped lexicon gives them no valence.
    [Theory]
    [InlineData("My credit card was charged twice.")]
    [InlineData("Please help, the interest on my account is wrong and customer support hung up.")]
    [InlineData("I asked them to validate the debt and put a security freeze and a fraud alert on my credit report.")]
    public void ServiceTermsInAComplaintCarryNoValence(string complaint) =>
        Assert.True(Compound(complaint) <= 0, $"{complaint}: {Compound(complaint)}");

    [Fact]
    public void FeelingsAroundServiceTermsStillCount()
    {
        Assert.True(Compound("The support was great, thank you!") > 0.5);
        Assert.True(Compound("The credit card team was rude and useless.") < -0.5);
    }

    [Fact]
    public void HtmlEscapedTextScoresAsTheTextItEncodes()
    {
        Assert.Equal(Compound("thank you <3"), Compound("thank you &lt;3"), 1e-12);
        Assert.True(Compound("thank you &lt;3") > Compound("thank you"));
        Assert.Equal(Compound("fast & friendly"), Compound("fast &amp; friendly"), 1e-12);
    }

    [Fact]
    public void ElongatedWordsScoreAsTheWordTheyStretch()
    {
        Assert.Equal(Compound("the agent was good"), Compound("the agent was gooooood"), 1e-12);
        Assert.Equal(Compound("this is so bad"), Compound("this is soooo baaaad"), 1e-12);
        Assert.Equal(Compound("I feel cool"), Compound("I feel cooool"), 1e-12); // runs cut to two letters first
        Assert.Equal(0, Compound("zzzzz"));
    }

    [Fact]
    public void NegationFlipsThePolarityOfTheNextWords()
    {
        Assert.True(Compound("The service was good") > 0);
        Assert.True(Compound("The service was not good") < 0);
        Assert.True(Compound("The service wasn't good") < 0);
        Assert.True(Compound("They helped without delay and it was never good") < 0);
    }

    [Fact]
    public void NeverSoIntensifiesInsteadOfNegating() =>
        Assert.True(Compound("Support has never been so good") > Compound("Support has been good"));

    [Fact]
    public void ClauseAfterButDominates()
    {
        Assert.True(Compound("The agent was friendly but the wait was terrible") < 0);
        Assert.True(Compound("The wait was terrible but the agent was friendly") > 0);
    }

    [Fact]
    public void CapitalsAmplifyOnlyWhenOtherWordsAreNotInCapitals()
    {
        Assert.True(Compound("The app is GREAT now") > Compound("The app is great now"));
        Assert.Equal(Compound("THE APP IS GREAT NOW"), Compound("the app is great now"), 6);
    }

    [Fact]
    public void ExclamationMarksAmplifyUpToFour()
    {
        Assert.True(Compound("Terrible service!") < Compound("Terrible service"));
        Assert.True(Compound("Terrible service!!!") < Compound("Terrible service!"));
        Assert.Equal(Compound("Terrible service!!!!"), Compound("Terrible service!!!!!!!"), 6);
    }

    [Fact]
    public void SeveralQuestionMarksAmplify() =>
        Assert.True(Compound("Why is this so bad???") < Compound("Why is this so bad"));

    [Fact]
    public void BoostersIncreaseAndDampenersDecreaseIntensity()
    {
        var plain = Compound("The agent was helpful");
        Assert.True(Compound("The agent was extremely helpful") > plain);
        Assert.True(Compound("The agent was slightly helpful") < plain);
        Assert.True(Compound("The agent was kind of helpful") < plain);
    }

    [Fact]
    public void LeastNegatesExceptInAtLeast()
    {
        Assert.True(Compound("the least helpful agent") < 0);
        Assert.True(Compound("at least helpful") > 0);
    }

    [Fact]
    public void SpecialCaseIdiomsOverrideTheWordValence() =>
        Assert.True(Compound("honestly the new app is the bomb") > 0);

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("order 12345 reference ABC")]
    public void TextWithoutSentimentWordsIsNeutral(string text) => Assert.Equal(0.0, Compound(text));

    [Fact]
    public void CompoundStaysWithinMinusOneAndOne()
    {
        var extreme = string.Join(' ', Enumerable.Repeat("AMAZING wonderful excellent love", 50)) + "!!!!";
        var scores = Vader.Analyze(extreme);
        Assert.InRange(scores.Compound, -1.0, 1.0);
        Assert.True(scores.Compound > 0.99);
        Assert.InRange(Compound(string.Join(' ', Enumerable.Repeat("awful horrible hate", 400))), -1.0, -0.99);
    }

    [Fact]
    public void ProportionsAddUpToOne()
    {
        var scores = Vader.Analyze("The agent was lovely but the app keeps crashing and I hate it.");
        Assert.Equal(1.0, scores.Positive + scores.Negative + scores.Neutral, 3);
    }
}
