using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Tests.Model;

/// <summary>The decoder runs from a memory-mapped safetensors file exactly as from memory.</summary>
public sealed class SafetensorsModelTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("oopt-model-").FullName;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MemoryMappedCheckpointGivesTheSameLogits(bool stream)
    {
        var spec = new ModelSpec("mapped", ModelType: "qwen2", Heads: 4, KvHeads: 2, DType: DType.BF16, Tied: true);
        ModelConfig config = RandomModels.Config(spec);
        using var memory = RandomModels.Build(spec, seed: 51);
        string path = Path.Combine(_folder, SafetensorsCheckpoint.SingleFileName);
        SafetensorsWriter.Write(path, memory.Tensors.Select(t => SafetensorsEntry.FromBytes(t.Name, t.DType, memory.RawBytes(t.Name), t.Shape)));
        int[][] batch = RandomModels.Tokens(spec.Vocab, 2, 7, seed: 4);

        using var fromMemory = LlamaModel.Create(config, memory, new ModelOptions());
        using var expected = fromMemory.Forward(batch);
        using var file = SafetensorsCheckpoint.Open(_folder);
        using var fromFile = LlamaModel.Create(config, file, new ModelOptions { StreamLayers = stream });
        using var actual = fromFile.Forward(batch);
        Assert.Equal(expected.data<float>().ToArray(), actual.data<float>().ToArray());
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
