using Xunit;

namespace Closeloop.Text.Tests;

public class TextAnalyzerTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  \n ")]
    public void BlankCommentsAreNeutralWithNoSignalsOrCause(string? text)
    {
        using var classifier = new RootCauseClassifier(DefaultTaxonomy.Causes);
        var analysis = new TextAnalyzer(classifier).Analyze(text);
        Assert.Equal(default, analysis.Sentiment);
        Assert.Empty(analysis.Signals);
        Assert.Null(analysis.RootCause);
    }

    [Fact]
    public void OneCallGivesSentimentSignalsAndCause()
    {
        using var classifier = new RootCauseClassifier(DefaultTaxonomy.Causes);
        var analysis = new TextAnalyzer(classifier).Analyze("I was on hold for two hours, this is ridiculous. Cancel my account!");
        Assert.True(analysis.Sentiment.Compound < 0);
        Assert.Contains(Signals.ChurnThreat, analysis.Signals);
        Assert.Equal("process.long-wait", analysis.RootCause?.Code);
    }

    [Fact]
    public void DefaultTaxonomyHasTheSeventeenTwoLevelCodesWithKeywords()
    {
        Assert.Equal(17, DefaultTaxonomy.Causes.Count);
        Assert.All(DefaultTaxonomy.Causes, c =>
        {
            Assert.Matches("^[a-z]+\\.[a-z-]+$", c.Code);
            Assert.True(c.Keywords.Count >= 10, c.Code);
        });
        Assert.Equal(17, DefaultTaxonomy.Causes.Select(c => c.Code).Distinct().Count());
    }
}
