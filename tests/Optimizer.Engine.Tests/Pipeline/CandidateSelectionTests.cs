using Optimizer.Engine.Pipeline;
using Xunit;

namespace Optimizer.Engine.Tests.Pipeline;

public sealed class CandidateSelectionTests
{
    private static VariantResult Candidate(string name, int simplicity, double kld, bool mitigated = false) =>
        new(name, "Q4_0", "none", mitigated, 10, 0.01, kld, 0.9, 100, null) { Candidate = true, Simplicity = simplicity };

    private static readonly VariantResult Original = new("original", "original", "none", false, 10, 0, 0, 1, 100, null);

    [Fact]
    public void The_lowest_KL_divergence_wins_and_only_it_is_marked()
    {
        var variants = new[] { Original, Candidate("stock", 0, 0.0024), Candidate("imatrix", 1, 0.0020), Candidate("compensated", 2, 0.0008) };
        var (marked, selection) = CandidateSelection.Choose(variants, mitigationsExplicit: false);
        Assert.Equal("compensated", selection.Selected);
        Assert.Equal(new[] { "compensated" }, marked.Where(v => v.Selected).Select(v => v.Name));
        Assert.False(marked[0].Selected);
        Assert.Contains("0.33× the KL divergence of stock", selection.Reason);
        Assert.Null(selection.Warning);
    }

    [Fact]
    public void A_tie_within_the_tolerance_goes_to_the_simpler_candidate()
    {
        var variants = new[] { Candidate("stock", 0, 0.001005), Candidate("compensated", 2, 0.001) };
        var (_, selection) = CandidateSelection.Choose(variants, mitigationsExplicit: false);
        Assert.Equal("stock", selection.Selected);
        Assert.Contains("simpler", selection.Reason);
        Assert.Equal(CandidateSelection.TieToSimpler, selection.Rule);
        var (_, clear) = CandidateSelection.Choose(new[] { Candidate("stock", 0, 0.00102), Candidate("compensated", 2, 0.001) }, false);
        Assert.Equal("compensated", clear.Selected);
    }

    [Fact]
    public void An_explicit_mitigation_list_is_honoured_and_warns_when_it_loses()
    {
        var variants = new[] { Candidate("stock", 0, 0.0024), Candidate("compensated", 2, 0.0008), Candidate("mitigated-imatrix", 3, 0.0021, true) };
        var (_, auto) = CandidateSelection.Choose(variants, mitigationsExplicit: false);
        Assert.Equal("compensated", auto.Selected);
        var (_, exp) = CandidateSelection.Choose(variants, mitigationsExplicit: true);
        Assert.Equal("mitigated-imatrix", exp.Selected);
        Assert.Contains("only mitigated candidates", exp.Reason);
        Assert.Contains("'compensated' without mitigations scored better", exp.Warning);
        Assert.Equal(("mitigations", "compensated", CandidateSelection.LowestKl), (exp.Constraint, exp.BetterExcluded, exp.Rule));
        Assert.Equal((null, null), (auto.Constraint, auto.BetterExcluded));
    }

    [Fact]
    public void An_explicit_list_with_no_mitigated_candidate_chooses_among_all_and_non_finite_scores_never_win()
    {
        var variants = new[] { Candidate("stock", 0, 0.0024), Candidate("compensated", 2, double.NaN) };
        var (_, selection) = CandidateSelection.Choose(variants, mitigationsExplicit: true);
        Assert.Equal("stock", selection.Selected);
        Assert.Null(selection.Warning);
        Assert.Throws<ArgumentException>(() => CandidateSelection.Choose(new[] { Original }, false));
    }

    [Fact]
    public void A_given_importance_matrix_is_honoured_and_warns_when_another_candidate_scored_better()
    {
        var variants = new[]
        {
            Candidate("stock", 0, 0.0024), Candidate("imatrix", 1, 0.0021) with { Imatrix = true }, Candidate("compensated", 2, 0.0008),
        };
        var (_, selection) = CandidateSelection.Choose(variants, mitigationsExplicit: false, imatrixExplicit: true);
        Assert.Equal("imatrix", selection.Selected);
        Assert.Contains("given importance matrix", selection.Reason);
        Assert.Contains("'compensated' without the given importance matrix scored better", selection.Warning);
    }

    [Fact]
    public void Identical_files_with_float_rounding_negative_scores_tie_to_the_simplest()
    {
        var variants = new[] { Candidate("stock", 0, -1e-9), Candidate("imatrix", 1, -2e-9) };
        var (_, selection) = CandidateSelection.Choose(variants, mitigationsExplicit: false);
        Assert.Equal("stock", selection.Selected);
    }
}
