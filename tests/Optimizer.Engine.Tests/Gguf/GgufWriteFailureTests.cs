using System.Diagnostics;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Tests.Formats;

namespace Optimizer.Engine.Tests.Gguf;

/// <summary>A write that fails or is cancelled leaves the target as it was and no temporary file behind.</summary>
public sealed class GgufWriteFailureTests
{
    private static GgufWriter TwoTensors(GgufTensorProducer second)
    {
        var writer = new GgufWriter().Add("general.architecture", "x");
        writer.AddTensor("a", new long[] { 8 }, GgmlType.F32, s => s.Write(new byte[32]));
        writer.AddTensor("b", new long[] { 8 }, GgmlType.F32, second);
        return writer;
    }

    [Fact]
    public void ProducerThatThrowsMidwayLeavesTheTargetUntouched()
    {
        using var temp = new TempFolder();
        string path = temp.Write("model.gguf", "previous content");
        var writer = TwoTensors(s =>
        {
            s.Write(new byte[16]);
            throw new InvalidDataException("producer failed");
        });
        Assert.Throws<InvalidDataException>(() => writer.Write(path));
        Assert.Equal("previous content", File.ReadAllText(path));
        Assert.Equal(new[] { "model.gguf" }, Directory.GetFiles(temp.Path).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(48)]
    public void ProducerWritingTheWrongByteCountFails(int bytes)
    {
        using var temp = new TempFolder();
        string path = temp.File("model.gguf");
        var ex = Assert.Throws<OptimizerException>(() => TwoTensors(s => s.Write(new byte[bytes])).Write(path));
        Assert.Equal(ErrorCodes.GgufExportInvalid, ex.Code);
        Assert.Contains("'b'", ex.Message);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void CancelledWriteLeavesNoFile()
    {
        using var temp = new TempFolder();
        using var cts = new CancellationTokenSource();
        var writer = TwoTensors(s => s.Write(new byte[32]));
        Assert.ThrowsAny<OperationCanceledException>(() => writer.Write(temp.File("model.gguf"), (i, _) => cts.Cancel(), cts.Token));
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void ReadOnlyFolderFailsWithOutputNotWritable()
    {
        using var temp = new TempFolder();
        string folder = Directory.CreateDirectory(temp.File("locked")).FullName;
        if (!Chattr("+i", folder)) Assert.Fail("chattr +i is not available; the read-only folder test needs it (tests run as root).");
        try
        {
            var ex = Assert.Throws<OptimizerException>(() => TwoTensors(s => s.Write(new byte[32])).Write(Path.Combine(folder, "model.gguf")));
            Assert.Equal(ErrorCodes.OutputNotWritable, ex.Code);
            Assert.Empty(Directory.GetFiles(folder));
        }
        finally
        {
            Chattr("-i", folder);
        }
    }

    private static bool Chattr(string flag, string folder)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("chattr", new[] { flag, folder }) { RedirectStandardError = true })!;
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
