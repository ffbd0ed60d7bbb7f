using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>Single-file and sharded checkpoints, and each way a sharded checkpoint can be inconsistent.</summary>
public class SafetensorsCheckpointTests
{
    private static void WriteShards(TempFolder temp)
    {
        SafetensorsWriter.Write(temp.File("model-00001-of-00002.safetensors"), new[]
        {
            SafetensorsEntry.FromFloats("a", new float[] { 1, 2 }, 2),
            SafetensorsEntry.FromFloats("c", new float[] { 3 }, 1),
        });
        SafetensorsWriter.Write(temp.File("model-00002-of-00002.safetensors"), new[]
        {
            SafetensorsEntry.FromFloats("b", new float[] { 4, 5, 6 }, 3),
        });
    }

    private static string Index(params (string Tensor, string Shard)[] map) =>
        "{\n  \"metadata\": {\"total_size\": 24},\n  \"weight_map\": {\n" +
        string.Join(",\n", map.Select(m => $"    \"{m.Tensor}\": \"{m.Shard}\"")) + "\n  }\n}\n";

    private const string S1 = "model-00001-of-00002.safetensors";
    private const string S2 = "model-00002-of-00002.safetensors";

    [Fact]
    public void OpensShardsAsOneSource()
    {
        using var temp = new TempFolder();
        WriteShards(temp);
        temp.Write(ShardIndex.FileName, Index(("a", S1), ("b", S2), ("c", S1)));
        using var source = SafetensorsCheckpoint.Open(temp.Path);
        Assert.Equal(new[] { "a", "b", "c" }, source.Tensors.Select(t => t.Name));
        Assert.Equal(S2, source.Find("b")!.File);
        Assert.Equal(new float[] { 4, 5, 6 }, TensorData.ReadFloat32(source, source.Find("b")!));
        Assert.Equal(new float[] { 3 }, TensorData.ReadFloat32(source, source.Find("c")!));
    }

    [Fact]
    public void OpensASingleFile()
    {
        using var temp = new TempFolder();
        SafetensorsWriter.Write(temp.File("model.safetensors"), new[] { SafetensorsEntry.FromFloats("w", new float[] { 7 }, 1) });
        using var source = SafetensorsCheckpoint.Open(temp.Path);
        Assert.Equal("model.safetensors", source.Tensors.Single().File);
        Assert.Equal(new float[] { 7 }, TensorData.ReadFloat32(source, source.Tensors[0]));
    }

    [Fact]
    public void IndexNotJsonReportsLineAndColumn()
    {
        using var temp = new TempFolder();
        WriteShards(temp);
        string index = temp.Write(ShardIndex.FileName, "{\n  \"weight_map\": {\n    \"a\": \"x\",,\n  }\n}\n");
        var ex = FormatsAssert.Fails(ErrorCodes.ShardIndexInvalid, index, () => SafetensorsCheckpoint.Open(temp.Path), "not valid JSON");
        Assert.Equal(3, ex.Line);
        Assert.True(ex.Column > 1);
    }

    [Fact]
    public void IndexWithoutWeightMap()
    {
        using var temp = new TempFolder();
        string index = temp.Write(ShardIndex.FileName, "{\"metadata\": {}}");
        FormatsAssert.Fails(ErrorCodes.ShardIndexInvalid, index, () => SafetensorsCheckpoint.Open(temp.Path), "weight_map");
    }

    [Fact]
    public void IndexNamingAPathOutsideTheFolder()
    {
        using var temp = new TempFolder();
        string index = temp.Write(ShardIndex.FileName, Index(("a", "../evil.safetensors")));
        FormatsAssert.Fails(ErrorCodes.ShardIndexInvalid, index, () => SafetensorsCheckpoint.Open(temp.Path), "'a'", "../evil.safetensors");
    }

    [Fact]
    public void ShardThatDoesNotExist()
    {
        using var temp = new TempFolder();
        WriteShards(temp);
        string index = temp.Write(ShardIndex.FileName, Index(("a", S1), ("b", S2), ("c", S1), ("d", "model-00003-of-00002.safetensors")));
        FormatsAssert.Fails(ErrorCodes.ShardMissing, index, () => SafetensorsCheckpoint.Open(temp.Path), "model-00003-of-00002.safetensors");
    }

    [Fact]
    public void TensorTheShardLacks()
    {
        using var temp = new TempFolder();
        WriteShards(temp);
        temp.Write(ShardIndex.FileName, Index(("a", S1), ("b", S2), ("c", S1), ("z", S2)));
        FormatsAssert.Fails(ErrorCodes.TensorMissing, temp.File(S2), () => SafetensorsCheckpoint.Open(temp.Path), "'z'", S2);
    }

    [Fact]
    public void TensorInTwoShards()
    {
        using var temp = new TempFolder();
        WriteShards(temp);
        SafetensorsWriter.Write(temp.File(S2), new[]
        {
            SafetensorsEntry.FromFloats("b", new float[] { 4, 5, 6 }, 3),
            SafetensorsEntry.FromFloats("c", new float[] { 3 }, 1),
        });
        temp.Write(ShardIndex.FileName, Index(("a", S1), ("b", S2), ("c", S1)));
        FormatsAssert.Fails(ErrorCodes.DuplicateTensor, temp.File(S2), () => SafetensorsCheckpoint.Open(temp.Path), "'c'", S1, S2);
    }

    [Fact]
    public void TensorTheIndexPutsElsewhere()
    {
        using var temp = new TempFolder();
        WriteShards(temp);
        string index = temp.Write(ShardIndex.FileName, Index(("a", S1), ("b", S2), ("c", S2)));
        FormatsAssert.Fails(ErrorCodes.ShardIndexInvalid, index, () => SafetensorsCheckpoint.Open(temp.Path), "'c'", $"puts tensor 'c' in {S2}, but it is in {S1}");
    }

    [Fact]
    public void CorruptShardIsNamed()
    {
        using var temp = new TempFolder();
        WriteShards(temp);
        byte[] shard = File.ReadAllBytes(temp.File(S2));
        temp.Write(S2, shard[..^1]);
        temp.Write(ShardIndex.FileName, Index(("a", S1), ("b", S2), ("c", S1)));
        FormatsAssert.Fails(ErrorCodes.SafetensorsTruncated, temp.File(S2), () => SafetensorsCheckpoint.Open(temp.Path), "truncated");
    }

    [Fact]
    public void NoWeightsAtAll()
    {
        using var temp = new TempFolder();
        FormatsAssert.Fails(ErrorCodes.NoWeights, temp.Path, () => SafetensorsCheckpoint.Open(temp.Path), "model.safetensors");
    }
}
