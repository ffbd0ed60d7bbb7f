using Optimizer.Engine.Diagnostics.MassiveActivations;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Tests.Diagnostics;

/// <summary>The kind rules of docs/manifest.md on hand-made MA lists.</summary>
public class MassiveActivationClassifierTests
{
    private static RawActivation Ma(int layer, ProbeSite site, long token, int channel)
        => new(new ActivationEntry(layer, site, token, (int)token, 256, channel, 500f), 5000);

    private static (MassiveActivationKind[] Kinds, IReadOnlyList<ResidualBirth> Births) Classify(params RawActivation[] mas)
    {
        var sorted = mas.OrderBy(m => m.Entry.Layer).ThenBy(m => m.Entry.Site).ThenBy(m => m.Entry.TokenIndex).ThenBy(m => m.Entry.Channel).ToArray();
        Assert.Equal(mas, sorted); // the test lists are written in detection order
        return MassiveActivationClassifier.Classify(sorted);
    }

    [Fact]
    public void BirthInTheFeedForwardBlockThenPropagatedThenATmaInsideALaterBlock()
    {
        var (kinds, births) = Classify(
            Ma(1, ProbeSite.Y6, 0, 7), Ma(1, ProbeSite.Y7, 0, 5), Ma(1, ProbeSite.Y8, 0, 5),
            Ma(2, ProbeSite.AttnY1, 0, 5), Ma(2, ProbeSite.Y1, 0, 5), Ma(2, ProbeSite.Y7, 0, 5), Ma(2, ProbeSite.Y8, 0, 5));
        Assert.Equal(new[]
        {
            MassiveActivationKind.Birth, MassiveActivationKind.Birth, MassiveActivationKind.Birth,
            MassiveActivationKind.Propagated, MassiveActivationKind.Propagated, MassiveActivationKind.Tma, MassiveActivationKind.Propagated,
        }, kinds);
        Assert.Equal(new[] { new ResidualBirth(1, ProbeSite.Y8, 0, 5) }, births);
    }

    [Fact]
    public void OnlyTheBlockFeedingTheBirthSiteIsPartOfTheBirth()
    {
        var (kinds, births) = Classify(Ma(2, ProbeSite.AttnQ, 3, 1), Ma(2, ProbeSite.Y6, 3, 4), Ma(2, ProbeSite.Y6, 4, 4), Ma(2, ProbeSite.Y8, 3, 9));
        Assert.Equal(new[] { MassiveActivationKind.Tma, MassiveActivationKind.Birth, MassiveActivationKind.Tma, MassiveActivationKind.Birth }, kinds);
        Assert.Equal(new[] { new ResidualBirth(2, ProbeSite.Y8, 3, 9) }, births);
    }

    [Fact]
    public void AnAttentionBirthAndAnEmbeddingBirth()
    {
        var (kinds, births) = Classify(Ma(0, ProbeSite.AttnY1, 0, 2), Ma(0, ProbeSite.AttnO, 1, 6), Ma(0, ProbeSite.Y1, 0, 2), Ma(0, ProbeSite.Y1, 1, 6));
        Assert.Equal(new[] { MassiveActivationKind.Birth, MassiveActivationKind.Birth, MassiveActivationKind.Propagated, MassiveActivationKind.Birth }, kinds);
        Assert.Equal(new[] { new ResidualBirth(0, ProbeSite.AttnY1, 0, 2), new ResidualBirth(0, ProbeSite.Y1, 1, 6) }, births);
    }

    [Fact]
    public void AResidualMaThatReappearsAfterAGapIsATma()
    {
        var (kinds, births) = Classify(Ma(1, ProbeSite.Y8, 0, 5), Ma(2, ProbeSite.AttnY1, 0, 5), Ma(3, ProbeSite.Y8, 0, 5), Ma(4, ProbeSite.AttnY1, 0, 5));
        Assert.Equal(new[] { MassiveActivationKind.Birth, MassiveActivationKind.Propagated, MassiveActivationKind.Tma, MassiveActivationKind.Propagated }, kinds);
        Assert.Single(births);
    }
}
