// llama.cpp and TorchSharp both use every core; running test classes one at a time keeps timings stable on small machines.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
