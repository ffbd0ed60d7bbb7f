using Optimizer.Engine.Formats;

namespace Optimizer.Fixtures;

public sealed partial class SyntheticModelBuilder
{
    /// <summary>
    /// Named configurations for detection tests: clean models (no outlier of any kind), each mechanism alone, and all
    /// three together, at hidden sizes 64, 128 (GQA, qwen2, BF16) and 256 (F16), with several seeds. Plant positions
    /// depend only on the shape, so tests can also read them from the ground truth.
    /// </summary>
    public static class Presets
    {
        /// <summary>Hidden sizes the presets come in.</summary>
        public static readonly IReadOnlyList<int> HiddenSizes = new[] { 64, 128, 256 };

        /// <summary>
        /// The base shape for <paramref name="hiddenSize"/>: 64 → 4 layers, 4 heads; 128 → 6 layers, 8 heads over 2
        /// key/value heads, qwen2, BF16, tied embeddings; 256 → 4 layers, 8 heads, F16; other sizes → 4 layers,
        /// hidden/16 heads, F32. Intermediate size 8/3 × hidden.
        /// </summary>
        public static SyntheticModelOptions Clean(ulong seed = 1, int hiddenSize = 64)
        {
            var options = new SyntheticModelOptions
            {
                Seed = seed,
                HiddenSize = hiddenSize,
                IntermediateSize = DefaultIntermediateSize(hiddenSize),
            };
            return hiddenSize switch
            {
                64 => options with { Layers = 4, Heads = 4, KeyValueHeads = 4 },
                128 => options with
                {
                    Layers = 6, Heads = 8, KeyValueHeads = 2, Architecture = SyntheticArchitecture.Qwen2,
                    WeightDType = DType.BF16, TieWordEmbeddings = true, RmsNormEps = 1e-6, RopeTheta = 1_000_000,
                },
                256 => options with { Layers = 4, Heads = 8, KeyValueHeads = 4, WeightDType = DType.F16 },
                _ => options with { Layers = 4, Heads = Math.Max(1, hiddenSize / 16), KeyValueHeads = Math.Max(1, hiddenSize / 16) },
            };
        }

        /// <summary>Clean base plus a massive activation born in layer 1 (value 2000, super activation 1000).</summary>
        public static SyntheticModelOptions MassiveActivationOnly(ulong seed = 1, int hiddenSize = 64) =>
            Clean(seed, hiddenSize) with { MassiveActivation = MassivePlant(Clean(seed, hiddenSize)) };

        /// <summary>Clean base plus γ outliers: two attention-norm channels (×20) in layer 2, one FFN-norm channel (×25) in the last layer.</summary>
        public static SyntheticModelOptions GammaOnly(ulong seed = 1, int hiddenSize = 64) =>
            Clean(seed, hiddenSize) with { GammaOutliers = GammaPlants(Clean(seed, hiddenSize)) };

        /// <summary>Clean base plus OTCs: two RoPE row pairs of head 1 in layer 2 (×20, reading A) and one input column in the last layer (×20, reading B).</summary>
        public static SyntheticModelOptions QueryOutliersOnly(ulong seed = 1, int hiddenSize = 64) =>
            Clean(seed, hiddenSize) with { QueryOutliers = QueryPlants(Clean(seed, hiddenSize)) };

        /// <summary>The massive activation, the γ outliers and the OTCs together.</summary>
        public static SyntheticModelOptions AllThree(ulong seed = 1, int hiddenSize = 64)
        {
            var clean = Clean(seed, hiddenSize);
            return clean with
            {
                MassiveActivation = MassivePlant(clean),
                GammaOutliers = GammaPlants(clean),
                QueryOutliers = QueryPlants(clean),
            };
        }

        /// <summary>Every named preset, in a fixed order (names are stable and used as test-case labels).</summary>
        public static IReadOnlyList<(string Name, SyntheticModelOptions Options)> All { get; } = new[]
        {
            ("clean-h64-s1", Clean(1, 64)),
            ("clean-h64-s2", Clean(2, 64)),
            ("clean-h128-s3", Clean(3, 128)),
            ("clean-h256-s4", Clean(4, 256)),
            ("ma-h64-s1", MassiveActivationOnly(1, 64)),
            ("ma-h64-s5", MassiveActivationOnly(5, 64)),
            ("ma-h128-s2", MassiveActivationOnly(2, 128)),
            ("gamma-h64-s1", GammaOnly(1, 64)),
            ("gamma-h256-s2", GammaOnly(2, 256)),
            ("otc-h64-s1", QueryOutliersOnly(1, 64)),
            ("otc-h128-s4", QueryOutliersOnly(4, 128)),
            ("all-h64-s1", AllThree(1, 64)),
            ("all-h128-s2", AllThree(2, 128)),
            ("all-h256-s3", AllThree(3, 256)),
        };

        /// <summary>The preset named <paramref name="name"/> (see <see cref="All"/>).</summary>
        public static SyntheticModelOptions Named(string name)
        {
            foreach (var (n, options) in All)
                if (n == name) return options;
            throw new ArgumentException($"No synthetic preset is named '{name}'.", nameof(name));
        }

        private static MassiveActivationPlant MassivePlant(SyntheticModelOptions o) =>
            new(Layer: 1, Neuron: o.IntermediateSize / 3 + (int)(o.Seed % 7), Channel: o.HiddenSize / 4 + 3)
            {
                ResidualValue = o.Seed % 2 == 0 ? -2000 : 2000,
                SuperActivation = 1000,
            };

        private static GammaOutlierPlant[] GammaPlants(SyntheticModelOptions o) => new[]
        {
            new GammaOutlierPlant(2, PlantedNorm.Attention, new[] { o.HiddenSize / 8 + 1, o.HiddenSize / 2 + 5 }, 20),
            new GammaOutlierPlant(o.Layers - 1, PlantedNorm.Ffn, new[] { 3 * o.HiddenSize / 4 + 2 }, 25),
        };

        private static QueryOutlierPlant[] QueryPlants(SyntheticModelOptions o) => new[]
        {
            QueryOutlierPlant.Rows(2, head: 1, pairs: new[] { 1, o.HeadDim / 4 + 1 }, scale: 20),
            QueryOutlierPlant.Columns(o.Layers - 1, columns: new[] { o.HiddenSize / 2 - 3 }, scale: 20),
        };
    }
}
