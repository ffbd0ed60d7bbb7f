using Optimizer.Engine.Formats;
using Optimizer.FixtureTrainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Optimizer.FixtureTrainer.Tests;

public sealed class TrainingTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("t-train-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void LearningRateWarmsUpLinearlyThenFollowsACosineToTenPercent()
    {
        Assert.Equal(0.1, TrainCommand.LearningRate(0, 110, 10, 1.0), 12);
        Assert.Equal(1.0, TrainCommand.LearningRate(9, 110, 10, 1.0), 12);
        Assert.Equal(1.0, TrainCommand.LearningRate(10, 110, 10, 1.0), 12);
        Assert.Equal(0.55, TrainCommand.LearningRate(60, 110, 10, 1.0), 12);
        Assert.Equal(0.1, TrainCommand.LearningRate(110, 110, 10, 1.0), 12);
        Assert.Equal(0.1, TrainCommand.LearningRate(500, 110, 10, 1.0), 12);
        for (int step = 10; step < 110; step++)
            Assert.True(TrainCommand.LearningRate(step + 1, 110, 10, 1.0) < TrainCommand.LearningRate(step, 110, 10, 1.0));
    }

    [Fact]
    public void WindowsStartWithBosAndTargetTheNextByte()
    {
        byte[] text = "abcdefghijklmnopqrstuvwxyz"u8.ToArray();
        var (inputs, targets) = ByteCorpus.RandomBatch(text, 3, 5, new Random(1));
        long[] x = inputs.data<long>().ToArray(), y = targets.data<long>().ToArray();
        for (int row = 0; row < 3; row++)
        {
            Assert.Equal(ByteLevelVocabulary.BosId, x[row * 5]);
            for (int j = 1; j < 5; j++) Assert.Equal(y[row * 5 + j - 1], x[row * 5 + j]);
            for (int j = 1; j < 5; j++) Assert.Equal(y[row * 5 + j - 1] + 1, y[row * 5 + j]);
        }

        var fixedBatches = ByteCorpus.FixedBatches(text, 5, 2, 6).ToList();
        Assert.Equal(new long[] { 2, 2, 1 }, fixedBatches.Select(b => b.Inputs.shape[0]).ToArray());
        Assert.Equal((long)'a', fixedBatches[0].Targets[0, 0].item<long>());
        Assert.Equal((long)'a' + 21, fixedBatches[2].Targets[0, 5].item<long>());
        Assert.Throws<InvalidDataException>(() => ByteCorpus.RandomBatch(text, 1, 26, new Random(1)));
    }

    [Fact]
    public void SavedFolderLoadsBackAndMatchesTheEngineModel()
    {
        torch.manual_seed(7);
        var config = TinyConfig();
        string model = Path.Combine(_folder, "model");
        using (var trained = new ByteLlama(config))
        {
            trained.Initialize(std: 0.3);
            Checkpoint.Save(trained, model);
            using var reloaded = Checkpoint.Load(model);
            using var ids = tensor(new long[] { 256, 72, 101, 108, 108, 111, 32, 119 }, new long[] { 1, 8 });
            using var noGrad = no_grad();
            using var a = trained.forward(ids);
            using var b = reloaded.forward(ids);
            Assert.Equal(0f, (a - b).abs().max().item<float>());
        }
        Assert.Equal(config.ToJson(), File.ReadAllText(Path.Combine(model, "config.json")));
        Assert.Equal(ByteLevelVocabulary.TokenizerJson(), File.ReadAllText(Path.Combine(model, "tokenizer.json")));

        var (difference, trainerLoss, engineLoss) = VerifyCommand.Compare(model, "It was the best of times, it was the worst of times."u8.ToArray(), 3, 16);
        Assert.True(difference < 1e-4, $"trainer and engine logits differ by {difference}");
        Assert.Equal(trainerLoss, engineLoss, 4);
    }

    [Fact]
    public void TrainingLearnsRepetitiveTextAndIsReproducible()
    {
        string corpus = Path.Combine(_folder, "corpus");
        Directory.CreateDirectory(corpus);
        string sentence = string.Concat(Enumerable.Repeat("the cat sat on the mat. ", 200));
        File.WriteAllText(Path.Combine(corpus, Corpus.CorpusCommand.TrainFile), sentence);
        File.WriteAllText(Path.Combine(corpus, Corpus.CorpusCommand.HeldOutFile), sentence[..500]);
        string[] Args(string output) => new[]
        {
            "--corpus", corpus, "--out", output, "--steps", "150", "--batch", "4", "--seq", "32", "--lr", "1e-2",
            "--warmup", "5", "--eval-every", "50", "--eval-windows", "4", "--layers", "1", "--hidden", "32",
            "--heads", "4", "--kv-heads", "2", "--intermediate", "64", "--threads", "1",
        };

        string first = Path.Combine(_folder, "a"), second = Path.Combine(_folder, "b");
        Assert.Equal(0, TrainCommand.Run(Args(first)));
        Assert.Equal(0, TrainCommand.Run(Args(second)));

        using var model = Checkpoint.Load(first);
        byte[] heldOut = File.ReadAllBytes(Path.Combine(corpus, Corpus.CorpusCommand.HeldOutFile));
        double loss = TrainCommand.Evaluate(model, heldOut, 4, 4, 32);
        Assert.True(loss < 1.0, $"held-out loss after training is {loss} nats/byte");
        Assert.Equal(File.ReadAllBytes(Path.Combine(first, "model.safetensors")), File.ReadAllBytes(Path.Combine(second, "model.safetensors")));

        string text = System.Text.Encoding.ASCII.GetString(SampleCommand.Generate(model, "the cat "u8.ToArray(), 16, 0, new Random(1)));
        Assert.Equal("sat on the mat. ", text);
    }

    private static ModelConfig TinyConfig() => new()
    {
        Architectures = new[] { "LlamaForCausalLM" },
        ModelType = "llama",
        VocabSize = ByteLevelVocabulary.Size,
        HiddenSize = 32,
        IntermediateSize = 48,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        RmsNormEps = 1e-5,
        RopeTheta = 10000,
        MaxPositionEmbeddings = 64,
        TieWordEmbeddings = true,
        BosTokenId = ByteLevelVocabulary.BosId,
        TorchDtype = "float32",
    };
}
