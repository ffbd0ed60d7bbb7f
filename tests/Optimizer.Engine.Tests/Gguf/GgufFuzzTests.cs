using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Tests.Formats;

namespace Optimizer.Engine.Tests.Gguf;

/// <summary>
/// Bounded fuzzing: random byte mutations and truncations of a valid GGUF file either open (and then read completely)
/// or fail with an OOPT111x <see cref="OptimizerException"/> naming the file, never another exception and never a hang.
/// </summary>
public sealed class GgufFuzzTests
{
    [Fact]
    public async Task MutatedFilesFailOnlyWithOptimizerExceptions()
    {
        using var temp = new TempFolder();
        var writer = GgufRoundTripTests.EveryValueType();
        writer.AddTensor("w", new long[] { 2, 32 }, GgmlType.Q8_0, s => s.Write(new byte[68]));
        writer.AddTensor("n", new long[] { 6 }, GgmlType.F32, s => s.Write(new byte[24]));
        byte[] valid = File.ReadAllBytes(writer.Write(temp.File("valid.gguf")).Path);
        long dataOffset;
        using (var file = GgufFile.Open(temp.File("valid.gguf"))) dataOffset = file.DataOffset;

        var outcomes = await MutationFuzzer.RunAsync(temp, ".gguf", 600, random => Mutate(valid, (int)dataOffset, random), path =>
        {
            using var file = GgufFile.Open(path);
            foreach (var tensor in file.Tensors)
            {
                long seen = 0;
                file.ReadBytes(tensor, (span, _) => seen += span.Length);
                Assert.Equal(tensor.ByteCount, seen);
            }
            foreach (var (_, value) in file.Metadata.Entries) Assert.NotNull(value.ToString());
        }, "OOPT111");
        Assert.True(outcomes.Count >= 5, "Mutations reached too few outcomes: " + string.Join(", ", outcomes));
        Assert.True(outcomes.ContainsKey(ErrorCodes.GgufTruncated));
        Assert.True(outcomes.ContainsKey(ErrorCodes.GgufMetadataInvalid));
    }

    private static byte[] Mutate(byte[] valid, int headerEnd, Random random)
    {
        byte[] bytes = (byte[])valid.Clone();
        switch (random.Next(4))
        {
            case 0:
                return bytes[..random.Next(bytes.Length)];
            case 1:
                for (int i = random.Next(1, 4); i > 0; i--) bytes[random.Next(0, headerEnd)] = (byte)random.Next(256);
                return bytes;
            case 2:
                // Small changes to a length, count or type field: flip one low bit.
                int at = random.Next(0, headerEnd);
                bytes[at] ^= (byte)(1 << random.Next(3));
                return bytes;
            default:
                int start = random.Next(headerEnd);
                int length = random.Next(1, 16);
                return bytes[..start].Concat(bytes[Math.Min(bytes.Length, start + length)..]).ToArray();
        }
    }
}
