namespace Optimizer.Engine.Tests.Quantization;

/// <summary>Test inputs: Gaussian weights with outliers, exact ties, repeated values, zero blocks and tiny blocks.</summary>
internal static class RandomData
{
    public static float Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }

    public static float[] Gaussian(Random rng, int n, float scale = 1f)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = Gaussian(rng) * scale;
        return x;
    }

    /// <summary>Blocks of 32 of varied kinds, so vector and scalar paths meet every branch.</summary>
    public static float[] Mixed(Random rng, int n)
    {
        var x = new float[n];
        for (int b = 0; b < n / 32; b++)
        {
            Span<float> block = x.AsSpan(b * 32, 32);
            switch (b % 8)
            {
                case 0: for (int i = 0; i < 32; i++) block[i] = Gaussian(rng) * 0.02f; break;
                case 1: for (int i = 0; i < 32; i++) block[i] = rng.Next(-16, 17) * 0.5f; break; // exact ties
                case 2: block.Fill(rng.Next(2) == 0 ? 0.75f : -0.75f); break;
                case 3: break; // zeros
                case 4: for (int i = 0; i < 32; i++) block[i] = Gaussian(rng) * 1e-7f; break; // subnormal fp16 scales
                case 5:
                    for (int i = 0; i < 32; i++) block[i] = Gaussian(rng);
                    block[rng.Next(32)] = 40f * (rng.Next(2) == 0 ? 1 : -1); // an outlier
                    break;
                case 6:
                    for (int i = 0; i < 32; i++) block[i] = Gaussian(rng);
                    int k = rng.Next(32), m = rng.Next(32);
                    block[k] = 3f; block[m] = -3f; // equal magnitudes of both signs
                    break;
                default: for (int i = 0; i < 32; i++) block[i] = Gaussian(rng) * 1e4f; break;
            }
        }
        return x;
    }
}
