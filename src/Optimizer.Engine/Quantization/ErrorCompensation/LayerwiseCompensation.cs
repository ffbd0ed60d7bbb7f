using System.Diagnostics;
using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Quantization.ErrorCompensation;

/// <summary>What error-compensating rounding did to one tensor (the manifest's <c>quantization.compensation</c>).</summary>
/// <param name="Tensor">Hugging Face tensor name.</param>
/// <param name="Type">The ggml type written.</param>
/// <param name="Damping">λ that made the damped Hessian positive definite; null when the tensor was not compensated.</param>
/// <param name="Skipped">Why the tensor kept plain rounding (<c>type</c>, <c>shape</c>, <c>hessian</c>), or null.</param>
public sealed record CompensatedTensor(string Tensor, string Type, double? Damping, string? Skipped);

/// <summary>Progress of <see cref="LayerwiseCompensation.Run"/>: layers done of all.</summary>
public sealed record CompensationProgress(int Done, int Total);

/// <summary>
/// Error-compensating rounding of a whole model, layer by layer (docs/quantization.md "Error-compensating rounding"):
/// the calibration sequences are embedded once; for each decoder layer in turn, its linear inputs' Hessians are
/// accumulated over every calibration token with the layer's float weights, its seven linear weights are quantized with
/// <see cref="ErrorCompensatedRounding"/> (the types the recipe gives them, scales chosen by ggml's
/// importance-weighted search with the Hessian's diagonal as importance), and the residual streams are then advanced
/// through the layer as quantized — so every layer is compensated for the inputs the quantized model really gives it.
/// Memory: the residual streams of the calibration tokens, one layer's Hessians, and the encodings.
/// </summary>
public static class LayerwiseCompensation
{
    private static readonly TensorRole[] Linears = { TensorRole.Q, TensorRole.K, TensorRole.V, TensorRole.O, TensorRole.Gate, TensorRole.Up, TensorRole.Down };

    /// <summary>
    /// Compensates every linear weight of <paramref name="weights"/> that <paramref name="target"/> stores in a type with
    /// a block grid. Returns the encodings (tensors not compensated go through the target's plain quantizers) and a
    /// record per linear weight. Deterministic; cancellable between and inside layers.
    /// </summary>
    public static (EncodedWeights Weights, IReadOnlyList<CompensatedTensor> Records) Run(ModelConfig config, ITensorSource weights, GgufRoundTrip target,
        IReadOnlyList<int[]> calibration, int batchSize, ModelOptions modelOptions, IProgress<CompensationProgress>? progress, CancellationToken ct,
        double damping = ErrorCompensatedRounding.DefaultDamping)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(calibration);
        if (calibration.Count == 0) throw new ArgumentException("No calibration sequences.", nameof(calibration));
        var encoded = new EncodedWeights(target);
        var records = new List<CompensatedTensor>();
        var device = DeviceSelector.Resolve(modelOptions.Device);
        var shapes = LlamaTensorNames.Expected(config).ToDictionary(t => (t.Role, t.Layer), t => (t.Name, t.Shape));
        using var quantized = new FakeQuantizedWeights(weights, encoded);
        using var stepper = LayerStepper.Start(config, weights, calibration, batchSize, device);
        int layers = config.NumHiddenLayers;
        progress?.Report(new CompensationProgress(0, layers));
        for (int layer = 0; layer < layers; layer++)
        {
            ct.ThrowIfCancellationRequested();
            var plan = new List<(TensorRole Role, string Name, long[] Shape, GgmlType Type)>();
            foreach (TensorRole role in Linears)
            {
                var (name, shape) = shapes[(role, layer)];
                GgmlType type = target.TypeOf(name) ?? GgmlType.F32;
                string? skipped = !BlockGrid.Supports(type) ? "type" : !ErrorCompensatedRounding.Supports(type, shape[1]) ? "shape" : null;
                if (skipped is null) plan.Add((role, name, shape, type));
                else records.Add(new CompensatedTensor(name, GgmlTypes.Name(type), null, skipped));
            }
            if (plan.Count > 0)
            {
                using var probe = new HessianProbe(layer, plan.Select(p => ImportanceCollection.InputSite(p.Role)).Distinct());
                stepper.Run(weights, probe, advance: false, ct);
                // One factorization per input site: q/k/v share attn.y2's Hessian, gate/up y2's. Only one site's Hessian
                // copy and factor are held at a time.
                foreach (var site in plan.GroupBy(p => ImportanceCollection.InputSite(p.Role)))
                {
                    ct.ThrowIfCancellationRequested();
                    double[] hessian = probe.Hessian(site.Key, out int channels)
                        ?? throw new InvalidOperationException($"No activations reached {ProbeSites.Id(site.Key)} of layer {layer}.");
                    long tokens = probe.Tokens[site.Key];
                    var importance = new float[channels];
                    for (int i = 0; i < channels; i++) importance[i] = (float)(hessian[(long)i * channels + i] / tokens);
                    float[]? factor = ErrorCompensatedRounding.InverseFactor(hessian, channels, damping, out double used);
                    hessian = null!;
                    foreach (var (role, name, shape, type) in site)
                    {
                        ct.ThrowIfCancellationRequested();
                        int rows = checked((int)shape[0]), cols = checked((int)shape[1]);
                        if (channels != cols) throw new InvalidOperationException($"{name}: {cols} columns but {channels} input channels.");
                        if (factor is null)
                        {
                            records.Add(new CompensatedTensor(name, GgmlTypes.Name(type), null, "hessian"));
                            continue;
                        }
                        float[] values = TensorData.ReadFloat32(weights, weights.Find(name)!);
                        byte[] bytes = ErrorCompensatedRounding.Quantize(type, values, rows, cols, factor, importance, ct);
                        encoded.Add(new EncodedTensor(name, type, rows, cols, bytes));
                        records.Add(new CompensatedTensor(name, GgmlTypes.Name(type), used, null));
                    }
                }
            }
            stepper.Run(quantized, null, advance: true, ct);
            progress?.Report(new CompensationProgress(layer + 1, layers));
        }
        var order = LlamaTensorNames.Expected(config).Select((t, i) => (t.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        return (encoded, records.OrderBy(r => order[r.Tensor]).ToArray());
    }
}
