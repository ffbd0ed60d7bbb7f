using Optimizer.Engine;

namespace Optimizer.Fixtures;

/// <summary>
/// A seeded pseudo-random generator whose output is fully specified and identical on every machine and runtime:
/// xoshiro256** seeded through SplitMix64, uniform doubles from the top 53 bits, and normal variates by Marsaglia's
/// polar method using <see cref="DeterministicMath.Log"/> (only IEEE basic operations and square roots), so that the
/// same seed always gives bit-identical weights.
/// </summary>
public sealed class DeterministicRandom
{
    private readonly Xoshiro256StarStar _core;
    private double _spareNormal;
    private bool _hasSpare;

    /// <summary>A generator for <paramref name="seed"/>.</summary>
    public DeterministicRandom(ulong seed)
    {
        _core = new Xoshiro256StarStar(seed);
    }

    /// <summary>
    /// An independent generator for sub-stream <paramref name="stream"/> of <paramref name="seed"/>: streams never
    /// depend on how many values other streams consumed, so adding a draw in one place leaves all others unchanged.
    /// </summary>
    public static DeterministicRandom ForStream(ulong seed, ulong stream)
    {
        ulong mixed = seed;
        ulong a = Xoshiro256StarStar.SplitMix64(ref mixed);
        mixed = a ^ (stream * 0xD1B54A32D192ED03UL + 0x8CB92BA72F3D8DD7UL);
        return new DeterministicRandom(Xoshiro256StarStar.SplitMix64(ref mixed));
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64() => _core.NextUInt64();

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => _core.NextDouble();

    /// <summary>A uniform integer in [0, <paramref name="exclusiveMax"/>), without modulo bias.</summary>
    public int NextInt(int exclusiveMax)
    {
        if (exclusiveMax <= 0) throw new ArgumentOutOfRangeException(nameof(exclusiveMax), exclusiveMax, "Must be positive.");
        ulong bound = (ulong)exclusiveMax;
        ulong limit = ulong.MaxValue - ulong.MaxValue % bound;
        ulong x;
        do x = NextUInt64(); while (x >= limit);
        return (int)(x % bound);
    }

    /// <summary>A standard normal variate (mean 0, variance 1).</summary>
    public double NextNormal()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spareNormal;
        }
        while (true)
        {
            double u = 2.0 * NextDouble() - 1.0;
            double v = 2.0 * NextDouble() - 1.0;
            double s = u * u + v * v;
            if (s >= 1.0 || s == 0.0) continue;
            double f = Math.Sqrt(-2.0 * DeterministicMath.Log(s) / s);
            _spareNormal = v * f;
            _hasSpare = true;
            return u * f;
        }
    }

    /// <summary>Fills <paramref name="target"/> with normal variates of standard deviation <paramref name="std"/>.</summary>
    public void FillNormal(Span<double> target, double std)
    {
        for (int i = 0; i < target.Length; i++) target[i] = std * NextNormal();
    }
}
