using Optimizer.Engine.Formats;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Transforms;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>
/// The α search of docs/smoothing.md on hand-made groups: it keeps α = 0 (the group untouched) when every candidate is a
/// rescaling that changes no rounding, picks α &gt; 0 with the largest scale on a planted input outlier channel, and
/// gives the same answer every time.
/// </summary>
public sealed class ScaleSearchTests
{
    /// <summary>int8 per output channel with F16 scales (what <see cref="IntRoundTrip"/> does for an 8-bit linear).</summary>
    private sealed class Int8Rows : IWeightRoundTrip
    {
        public string Name => "int8";

        public bool TryRoundTrip(string tensorName, ReadOnlySpan<float> values, long rows, long cols, Span<float> restored)
        {
            var codes = new sbyte[rows * cols];
            var scales = new float[rows];
            Int8PerChannel.Quantize(values, rows, cols, DType.F16, codes, scales);
            Int8PerChannel.Dequantize(codes, scales, rows, cols, restored);
            return true;
        }
    }

    private static readonly SearchTarget W8A8 = new("int8+a8-per-tensor-static", new Int8Rows(), 8);

    /// <summary>
    /// A down-like group: <paramref name="rows"/> × <paramref name="width"/> inputs uniform in ±<paramref name="inputMax"/>
    /// (each channel reaching ±inputMax), one linear of 32 outputs with weights uniform in ±<paramref name="weightMax"/>
    /// (each column reaching it); channel <paramref name="outlier"/> (if any) is multiplied by <paramref name="outlierFactor"/>.
    /// </summary>
    private static SmoothingGroup Group(double inputMax, double weightMax, int outlier = -1, double outlierFactor = 1, int rows = 256, int width = 16, int seed = 3)
    {
        var random = new Random(seed);
        var input = new float[rows * width];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < width; i++)
                input[r * width + i] = (float)((r == i ? 1 : 2 * random.NextDouble() - 1) * inputMax * (i == outlier ? outlierFactor : 1));
        var weight = new float[32 * width];
        for (int o = 0; o < 32; o++)
            for (int i = 0; i < width; i++) weight[o * width + i] = (float)((o == i ? -1 : 2 * random.NextDouble() - 1) * weightMax);
        var max = new double[width];
        var mean = new double[width];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < width; i++)
            {
                max[i] = Math.Max(max[i], Math.Abs(input[r * width + i]));
                mean[i] += Math.Abs(input[r * width + i]) / rows;
            }
        return new SmoothingGroup(0, SmoothingGroupKind.Down, width, Enumerable.Range(0, width).ToArray(), input, rows, width, max, mean,
            new[] { new SmoothingLinear(TensorRole.Down, "w", weight) });
    }

    private static SearchResult Search(SmoothingGroup group, IReadOnlyList<double> grid)
    {
        double[] inputMax = group.PerScaleMax(group.InputMax), weightMax = group.WeightColumnMax();
        return ScaleSearch.Search(group, grid, alpha => SmoothQuantPlanner.Scales(inputMax, weightMax, alpha, 1e-5), W8A8);
    }

    [Fact]
    public void Alpha_zero_is_kept_when_every_candidate_only_rescales_the_whole_group()
    {
        // Every channel has max |x| = 2 and max |W| = 0.5, so s(α) = 2^(2α − 1) is the same for all channels: a power of
        // two on the grid {0, 0.5, 1}, which moves no rounding of the per-tensor activations or the per-row weights.
        var group = Group(2, 0.5);
        var result = Search(group, new[] { 0, 0.5, 1 });

        Assert.Equal(0, result.Alpha);
        Assert.All(result.Factors, f => Assert.Equal(1, f));
        Assert.Equal(result.BaselineError, result.Error);
        Assert.True(result.BaselineError > 0);
    }

    [Fact]
    public void A_planted_input_outlier_channel_gets_a_nonzero_alpha_and_the_largest_scale()
    {
        var group = Group(1, 0.5, outlier: 5, outlierFactor: 60);
        var result = Search(group, TransformOptions.DefaultAlphaGrid);

        Assert.True(result.Alpha > 0, $"α {result.Alpha}");
        Assert.True(result.ErrorRatio < 0.5, $"error ratio {result.ErrorRatio}");
        Assert.Equal(5, Array.IndexOf(result.Factors, result.Factors.Max()));
        // Without the outlier the same data is best left alone or smoothed far less.
        var clean = Search(Group(1, 0.5), TransformOptions.DefaultAlphaGrid);
        Assert.True(clean.ErrorRatio > result.ErrorRatio);
    }

    [Fact]
    public void The_search_is_deterministic()
    {
        var a = Search(Group(1, 0.5, outlier: 2, outlierFactor: 20, seed: 9), TransformOptions.DefaultAlphaGrid);
        var b = Search(Group(1, 0.5, outlier: 2, outlierFactor: 20, seed: 9), TransformOptions.DefaultAlphaGrid);

        Assert.Equal(a.Alpha, b.Alpha);
        Assert.Equal(a.Factors, b.Factors); // the scales come from the statistics alone: bit-identical
        // libtorch's multi-threaded float64 product may round the error sum differently in the last bit from run to
        // run; the 0.1% tie band keeps such differences from ever changing the choice.
        Assert.Equal(a.Error, b.Error, 1e-12 * a.Error);
    }

    [Fact]
    public void Weights_the_target_cannot_store_rule_a_candidate_out()
    {
        // A scale that pushes a weight beyond an F16 int8 scale (65504 × 127) makes that candidate infeasible (+∞), so
        // the search falls back to what it can store.
        var group = Group(1, 0.5, outlier: 1, outlierFactor: 1e9f);
        var result = Search(group, new[] { 0, 1.0 });

        Assert.Equal(0, result.Alpha);
        Assert.Equal(result.BaselineError, result.Error);
    }
}
