using System.Text.Json.Nodes;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Manifest;

/// <summary>
/// The cross-CPU comparison of manifests: measured numbers within two units of the 4th significant digit, everything
/// else (structure, strings, booleans, the schema's integer fields) exact.
/// </summary>
public sealed class ManifestComparisonTests
{
    private static readonly ManifestComparison Comparison = new(RepositoryPaths.ManifestSchema);

    private static IReadOnlyList<string> Diff(string expected, string actual) =>
        Comparison.Differences(JsonNode.Parse(expected), JsonNode.Parse(actual));

    [Fact]
    public void Integer_fields_come_from_the_schema()
    {
        var fields = ManifestComparison.SchemaIntegerFields(RepositoryPaths.ManifestSchema);
        Assert.Contains("layer", fields);
        Assert.Contains("channel", fields);
        Assert.Contains("token_position", fields);
        Assert.Contains("bytes", fields);
        Assert.DoesNotContain("max_abs", fields);
        Assert.DoesNotContain("value", fields);
    }

    [Theory]
    [InlineData(-8.883, -8.884)]        // seen between an Intel Xeon and an AMD EPYC
    [InlineData(7.582, 7.583)]
    [InlineData(1000, 1001)]            // a measured number that happens to print as an integer
    [InlineData(0.0001235, 0.0001236)]
    [InlineData(0, 5e-7)]
    public void Measured_numbers_agree_within_the_last_kept_digits(double a, double b)
    {
        Assert.Empty(Diff($$"""{"census":[{"layer":1,"max_abs":{{a}}}]}""", $$"""{"census":[{"layer":1,"max_abs":{{b}}}]}"""));
    }

    [Theory]
    [InlineData("""{"max_abs":7.58}""", """{"max_abs":7.61}""")]          // 0.4 %: a real change
    [InlineData("""{"value":1e-3}""", """{"value":2e-3}""")]
    [InlineData("""{"layer":3}""", """{"layer":4}""")]                    // integer fields are exact
    [InlineData("""{"tokens":512}""", """{"tokens":513}""")]
    [InlineData("""{"site":"y6"}""", """{"site":"y5"}""")]
    [InlineData("""{"exact":true}""", """{"exact":false}""")]
    [InlineData("""{"a":1,"b":2}""", """{"b":2,"a":1}""")]                // property order is part of the format
    [InlineData("""{"top":[1,2]}""", """{"top":[1,2,3]}""")]
    [InlineData("""{"x":null}""", """{"x":0}""")]
    [InlineData("""{"x":"1"}""", """{"x":1}""")]
    public void Anything_else_must_be_equal(string expected, string actual)
    {
        Assert.NotEmpty(Diff(expected, actual));
    }

    [Fact]
    public void Scores_of_variants_with_rounded_weights_or_activations_get_the_statistical_tolerance()
    {
        static string Variant(string weights, string activations, double perplexity, double top1) =>
            $$$"""{"evaluation":{"variants":[{"name":"v","weights":"{{{weights}}}","activations":"{{{activations}}}","perplexity":{{{perplexity}}},"top1_agreement":{{{top1}}},"tokens":256}]}}""";

        // Seen between the scalar and vectorised libtorch kernels for W8A8 on the fixture (256 tokens).
        Assert.Empty(Diff(Variant("int8", "a8-per-tensor-static", 9.837, 0.9297), Variant("int8", "a8-per-tensor-static", 9.861, 0.9336)));
        Assert.Empty(Diff(Variant("Q4_0", "none", 9.837, 0.9297), Variant("Q4_0", "none", 9.861, 0.9336)));
        // The same change in an unrounded variant is a real difference.
        Assert.NotEmpty(Diff(Variant("F32", "none", 9.837, 0.9297), Variant("F32", "none", 9.861, 0.9297)));
        Assert.NotEmpty(Diff(Variant("transformed", "none", 9.837, 0.9297), Variant("transformed", "none", 9.837, 0.9336)));
        // Beyond the statistical tolerance, or in the token count, rounded variants differ too.
        Assert.NotEmpty(Diff(Variant("int8", "a8-per-tensor-static", 9.837, 0.9297), Variant("int8", "a8-per-tensor-static", 10.1, 0.9297)));
        Assert.NotEmpty(Diff(Variant("int8", "none", 9.837, 0.9297), Variant("int4", "none", 9.837, 0.9297)));
    }

    [Fact]
    public void A_difference_names_its_json_path()
    {
        var d = Assert.Single(Diff("""{"findings":{"births":[{"layer":1},{"layer":2}]}}""", """{"findings":{"births":[{"layer":1},{"layer":5}]}}"""));
        Assert.StartsWith("$.findings.births[1].layer: 2 vs 5", d);
    }
}
