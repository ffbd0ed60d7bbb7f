using System.Globalization;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Optimizer.FixtureTrainer.Training;

/// <summary>
/// <c>verify</c>: loads a saved folder twice, with the trainer's own model and with the engine's
/// <see cref="LlamaModel"/> (through its safetensors reader and config validation), runs the same fixed held-out
/// windows through both and reports the largest logit difference and both losses, so the fixture is known to mean
/// the same thing to the engine as to the trainer. Fails (exit 1) when the difference exceeds <c>--tolerance</c>.
/// </summary>
internal static class VerifyCommand
{
    private static readonly string[] Known = { "model", "corpus", "windows", "seq", "tolerance", "threads" };

    public static int Run(string[] args)
    {
        var o = new CommandLineOptions(args, Known);
        string folder = o.Required("model");
        var corpus = ByteCorpus.Load(o.String("corpus", ".corpus"));
        int windows = o.Int("windows", 4, 1, 4096);
        int seq = o.Int("seq", 256, 2, 1 << 16);
        double tolerance = o.Double("tolerance", 1e-3, 0, 1e6);
        torch.set_num_threads(o.Int("threads", 2, 1, 256));

        var (difference, trainerLoss, engineLoss) = Compare(folder, corpus.HeldOut, windows, seq);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{folder}: {windows} windows of {seq}: max |logit(trainer) - logit(engine)| = {difference:G3}; " +
            $"loss trainer {trainerLoss:F5}, engine {engineLoss:F5} nats/byte"));
        if (difference > tolerance)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"error: the difference exceeds the tolerance {tolerance:G3}."));
            return 1;
        }
        return 0;
    }

    /// <summary>Max absolute logit difference and the mean losses (nats/byte) of the trainer's and the engine's model.</summary>
    internal static (double MaxDifference, double TrainerLoss, double EngineLoss) Compare(string folder, byte[] text, int windows, int seq)
    {
        using var trainer = Checkpoint.Load(folder);
        var config = ModelConfig.Load(Path.Combine(folder, Checkpoint.ConfigFile));
        using var weights = SafetensorsCheckpoint.Open(folder);
        using var engine = LlamaModel.Create(config, weights, new ModelOptions());
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (inputs, targets) = ByteCorpus.FixedBatches(text, windows, windows, seq).Single();
        var a = trainer.forward(inputs);
        var b = engine.Forward(inputs);
        double difference = (a - b).abs().max().item<float>();
        double Loss(Tensor logits) => nn.functional.cross_entropy(logits.view(-1, config.VocabSize), targets.view(-1)).item<float>();
        return (difference, Loss(a), Loss(b));
    }
}
