using Optimizer.Engine.Transforms;

namespace Optimizer.Engine.Tests.Transforms;

public sealed class TransformOptionsTests
{
    [Theory]
    [InlineData("norm", Mitigation.Norm)]
    [InlineData("smooth", Mitigation.Smooth)]
    [InlineData("otc", Mitigation.Otc)]
    [InlineData("tma", Mitigation.Tma)]
    [InlineData("tma-clamp", Mitigation.TmaClamp)]
    [InlineData("all", Mitigation.All)]
    [InlineData("none", Mitigation.None)]
    [InlineData("norm,otc,tma", Mitigation.Norm | Mitigation.Otc | Mitigation.Tma)]
    [InlineData(" TMA , Norm ", Mitigation.Norm | Mitigation.Tma)]
    [InlineData("otc,otc", Mitigation.Otc)]
    [InlineData("all,tma", Mitigation.All)]
    [InlineData("none,none", Mitigation.None)]
    public void Mitigation_list_parses(string text, Mitigation expected)
    {
        var options = TransformOptions.Parse(text);

        Assert.Equal(expected, options.Mitigations);
        Assert.Equal(expected, Mitigations.Parse(Mitigations.ToList(expected)));
    }

    [Fact]
    public void All_expands_to_every_mitigation_in_plan_order()
    {
        Assert.Equal("norm,smooth,otc,tma,tma-clamp", TransformOptions.Parse("all").MitigationList);
        Assert.Equal("norm,tma", TransformOptions.Parse("tma,norm").MitigationList);
        Assert.Equal("none", TransformOptions.Parse("none").MitigationList);
        Assert.Equal(Mitigation.All, new TransformOptions().Mitigations);
    }

    [Theory]
    [InlineData("norm,gamma", "'gamma'")]
    [InlineData("NORMAL", "'NORMAL'")]
    [InlineData("tma_clamp", "'tma_clamp'")]
    [InlineData("norm,,otc", "empty item")]
    [InlineData("", "empty item")]
    [InlineData("none,otc", "combines 'none'")]
    [InlineData("all,none", "combines 'none'")]
    public void Bad_mitigation_list_is_OOPT1130_naming_the_bad_item(string text, string named)
    {
        var error = Assert.Throws<OptimizerException>(() => TransformOptions.Parse(text));

        Assert.Equal(ErrorCodes.MitigationListInvalid, error.Code);
        Assert.Equal("OOPT1130", error.Code);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<TransformOptions, string> BadOptions() => new()
    {
        { new TransformOptions { GammaClipFactor = 1 }, "clip factor" },
        { new TransformOptions { GammaClipFactor = double.PositiveInfinity }, "clip factor" },
        { new TransformOptions { GammaInterpolation = 1.5 }, "β" },
        { new TransformOptions { GammaInterpolation = double.NaN }, "β" },
        { new TransformOptions { SmoothQuantAlpha = -0.1 }, "α" },
        { new TransformOptions { SmoothQuantMinScale = 0 }, "smallest SmoothQuant scale" },
        { new TransformOptions { SmoothQuantAlphaGrid = Array.Empty<double>() }, "grid is empty" },
        { new TransformOptions { SmoothQuantAlphaGrid = new[] { 0, 0.5, 0.25 } }, "strictly ascending" },
        { new TransformOptions { SmoothQuantAlphaGrid = new[] { 0, 1.5 } }, "Every α of the SmoothQuant grid" },
        { new TransformOptions { SampleTokens = 0 }, "sample of calibration tokens" },
        { new TransformOptions { TmaTargetQuantile = 0 }, "target quantile" },
        { new TransformOptions { TmaThresholdFraction = 1 }, "threshold fraction" },
        { new TransformOptions { ClampTau = 0 }, "τ" },
        { new TransformOptions { ClampTau = double.NaN }, "τ" },
        { new TransformOptions { ClampThresholdFraction = 2 }, "clamp threshold fraction" },
        { new TransformOptions { GammaMode = (GammaTargetMode)9 }, "γ target mode" },
        { new TransformOptions { OtcScope = (OtcScope)9 }, "OTC scope" },
        { new TransformOptions { Mitigations = (Mitigation)64 }, "mitigation flags" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Bad_parameter_is_OOPT1131(TransformOptions options, string named)
    {
        var error = Assert.Throws<OptimizerException>(options.Validate);

        Assert.Equal(ErrorCodes.TransformOptionInvalid, error.Code);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_are_valid_and_documented_values()
    {
        var options = new TransformOptions();
        options.Validate();

        Assert.Equal(GammaTargetMode.Outliers, options.GammaMode);
        Assert.Null(options.SmoothQuantAlpha); // searched per group (docs/smoothing.md)
        Assert.Equal(Enumerable.Range(0, 20).Select(k => k * 0.05), options.SmoothQuantAlphaGrid, (a, b) => Math.Abs(a - b) < 1e-12);
        Assert.Equal(512, options.SampleTokens);
        Assert.Equal(OtcScope.Flagged, options.OtcScope);
        Assert.False(options.ClampBirthSite);
        Assert.Null(options.ClampTau);
        Assert.Equal(new[] { "outliers", "clip", "interp", "full" }, Enum.GetValues<GammaTargetMode>().Select(GammaTargetModes.Id));
        Assert.Equal(new[] { "flagged", "all" }, Enum.GetValues<OtcScope>().Select(OtcScopes.Id));
        Assert.True(Mitigations.IsExact(Mitigation.Tma));
        Assert.False(Mitigations.IsExact(Mitigation.TmaClamp));
    }
}
