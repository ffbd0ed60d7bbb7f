using LLama.Native;
using Optimizer.LlamaCpp;

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
