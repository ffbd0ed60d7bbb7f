using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Calibration;

/// <summary>
/// Default calibration: text sampled from the model itself. Each sequence starts with BOS (or, for a model without
/// one, a token drawn uniformly from the vocabulary) and grows one token per step by temperature + top-k sampling from
/// the logits of its last position; BOS is never drawn after position 0. Sequences are generated
/// <see cref="CalibrationOptions.SampleBatchSize"/> at a time, one forward per step for the whole batch. There is no KV
/// cache, so each step sees a bounded window: the first token (BOS) followed by the latest
/// <see cref="CalibrationOptions.SampleContext"/> − 1 tokens; the cost is linear in the sequence length.
/// Sequence i draws from its own <see cref="Xoshiro256StarStar"/> derived from (seed, i), and candidates are ordered by
/// logit then id, so the same model, seed and options give the same tokens.
/// </summary>
public static class SelfSampler
{
    /// <summary>Samples <see cref="CalibrationOptions.SequenceBudget"/> sequences of <see cref="CalibrationOptions.SequenceLength"/> tokens.</summary>
    public static CalibrationSet Sample(LlamaModel model, int? bosId, CalibrationOptions options,
        IProgress<SamplingProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int vocab = model.Config.VocabSize;
        if (bosId is int b && (b < 0 || b >= vocab))
            throw new OptimizerException(ErrorCodes.TokenOutOfRange, $"The BOS id {b} is outside the vocabulary (size {vocab}).");
        int count = options.SequenceBudget, length = options.SequenceLength;
        var sequences = new int[count][];
        long total = (long)count * (length - 1), done = 0;
        for (int first = 0; first < count; first += options.SampleBatchSize)
        {
            int batch = Math.Min(options.SampleBatchSize, count - first);
            var random = new Xoshiro256StarStar[batch];
            var flat = new long[batch * length];
            for (int i = 0; i < batch; i++)
            {
                random[i] = new Xoshiro256StarStar(SequenceSeed(options.Seed, first + i));
                flat[i * length] = bosId ?? random[i].NextInt(vocab);
            }
            var logits = new float[vocab];
            for (int step = 1; step < length; step++)
            {
                ct.ThrowIfCancellationRequested();
                int window = Math.Min(step, options.SampleContext);
                using (var prefix = tensor(Window(flat, batch, length, step, window), new long[] { batch, window }))
                using (var output = model.Forward(prefix, null, 0, ct))
                using (var last = output.select(1, window - 1).contiguous())
                {
                    var all = last.data<float>();
                    for (int i = 0; i < batch; i++)
                    {
                        for (int v = 0; v < vocab; v++) logits[v] = all[i * vocab + v];
                        flat[i * length + step] = Draw(logits, bosId, options.Temperature, options.TopK, random[i]);
                    }
                }
                done += batch;
                progress?.Report(new SamplingProgress(done, total));
            }
            for (int i = 0; i < batch; i++)
            {
                var sequence = new int[length];
                for (int t = 0; t < length; t++) sequence[t] = (int)flat[i * length + t];
                sequences[first + i] = sequence;
            }
        }
        var source = new CalibrationSource(CalibrationSourceKind.SelfSampled, Array.Empty<CalibrationFile>(), options.Seed,
            new SamplingParameters(options.Temperature, options.TopK, options.SampleContext));
        return new CalibrationSet(source, sequences, length, bosId is not null);
    }

    /// <summary>Draws one token: the <paramref name="topK"/> largest finite logits (ties: smaller id first), softmax at <paramref name="temperature"/>.</summary>
    internal static int Draw(ReadOnlySpan<float> logits, int? excluded, double temperature, int topK, Xoshiro256StarStar random)
    {
        int k = Math.Min(topK, logits.Length);
        var ids = new int[k];
        int kept = 0;
        for (int v = 0; v < logits.Length; v++)
        {
            float value = logits[v];
            if (v == excluded || !float.IsFinite(value)) continue;
            if (kept == k && value <= logits[ids[k - 1]]) continue;
            int at = kept < k ? kept++ : k - 1;
            while (at > 0 && logits[ids[at - 1]] < value) { ids[at] = ids[at - 1]; at--; }
            ids[at] = v;
        }
        if (kept == 0)
            throw new OptimizerException(ErrorCodes.SamplingFailed, "The model's logits are not finite, so no calibration text can be sampled from it.");
        double max = logits[ids[0]];
        var weights = new double[kept];
        double sum = 0;
        for (int i = 0; i < kept; i++) sum += weights[i] = Math.Exp((logits[ids[i]] - max) / temperature);
        double r = random.NextDouble() * sum;
        for (int i = 0; i < kept; i++)
        {
            r -= weights[i];
            if (r < 0) return ids[i];
        }
        return ids[kept - 1];
    }

    /// <summary>Per sequence: token 0, then the <paramref name="window"/> − 1 tokens before <paramref name="step"/>.</summary>
    private static long[] Window(long[] flat, int batch, int length, int step, int window)
    {
        var prefix = new long[batch * window];
        for (int i = 0; i < batch; i++)
        {
            prefix[i * window] = flat[i * length];
            Array.Copy(flat, i * length + step - (window - 1), prefix, i * window + 1, window - 1);
        }
        return prefix;
    }

    private static ulong SequenceSeed(ulong seed, int index) => seed ^ (0x9E3779B97F4A7C15UL * (ulong)(index + 1));
}
