using System.Buffers.Binary;
using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>
/// Bounded fuzzing: random byte mutations and truncations of a valid file either open (and then read completely)
/// or fail with an <see cref="OptimizerException"/> naming the file, never another exception and never a hang.
/// </summary>
public class SafetensorsFuzzTests
{
    [Fact]
    public async Task MutatedFilesFailOnlyWithOptimizerExceptions()
    {
        using var temp = new TempFolder();
        string source = temp.File("valid.safetensors");
        SafetensorsWriter.Write(source, new[]
        {
            SafetensorsEntry.FromFloats("model.layers.0.w", Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), 4, 6),
            SafetensorsEntry.FromBytes("h", DType.F16, new byte[] { 0, 60, 0, 64, 0, 66 }, 3),
            SafetensorsEntry.FromBytes("b", DType.BF16, new byte[] { 128, 63 }),
            SafetensorsEntry.FromBytes("i", DType.I8, new byte[] { 1, 2, 3 }, 3),
        }, new Dictionary<string, string> { ["format"] = "pt" });
        byte[] valid = File.ReadAllBytes(source);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(valid);

        var outcomes = await MutationFuzzer.RunAsync(temp, ".safetensors", 400, random => Mutate(valid, headerEnd, random), path =>
        {
            using var file = SafetensorsFile.Open(path);
            foreach (var tensor in file.Tensors)
            {
                long seen = 0;
                file.ReadBytes(tensor, (span, _) => seen += span.Length);
                Assert.Equal(tensor.Length, seen);
                if (DTypes.IsWeightFloat(tensor.DType)) Assert.Equal(tensor.ElementCount, TensorData.ReadFloat32(file, tensor).Length);
            }
        }, "OOPT10");
        Assert.True(outcomes.Count >= 4, "Mutations reached too few outcomes: " + string.Join(", ", outcomes));
        Assert.True(outcomes.ContainsKey(ErrorCodes.SafetensorsTruncated));
        Assert.True(outcomes.ContainsKey(ErrorCodes.SafetensorsHeaderInvalid));
    }

    private static byte[] Mutate(byte[] valid, int headerEnd, Random random)
    {
        byte[] bytes = (byte[])valid.Clone();
        switch (random.Next(5))
        {
            case 0:
                return bytes[..random.Next(bytes.Length)];
            case 1:
                for (int i = random.Next(1, 4); i > 0; i--) bytes[random.Next(8, headerEnd)] = (byte)random.Next(256);
                return bytes;
            case 2:
                for (int i = random.Next(1, 4); i > 0; i--)
                {
                    int at = random.Next(8, headerEnd);
                    bytes[at] = (byte)"0123456789[]{},:\"-.eE "[random.Next(22)];
                }
                return bytes;
            case 3:
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)random.NextInt64(0, bytes.Length * 2L));
                return bytes;
            default:
                int cut = random.Next(8, headerEnd);
                return bytes[..cut].Concat(bytes[(cut + random.Next(1, 6))..]).ToArray();
        }
    }
}
