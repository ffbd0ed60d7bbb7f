using LLama.Native;

namespace Optimizer.LlamaCpp.Tests;

public sealed class LlamaRuntimeTests
{
    [Fact]
    public void NativeLibraryLoadsOnce()
    {
        LlamaRuntime.EnsureLoaded();
        LlamaRuntime.EnsureLoaded();
        Assert.True(NativeLibraryConfig.LLama.LibraryHasLoaded);
    }
}
