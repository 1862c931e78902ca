import { describe, expect, it } from 'vitest';
import { TopoEngine } from '../engines/topo.ts';
import { finiteDifference, gradientsOf } from '../scenarios/gradients.ts';
import { prepareJob } from '../scenarios/train.ts';
import { DEFAULT_CONFIG } from '../workload/config.ts';

const config = { ...DEFAULT_CONFIG, nEmbd: 8, nHead: 2, blockSize: 8 };
const dataset = { source: 'test', docs: ['emma', 'olivia', 'ava', 'isabella'], sha256: '' };

describe('topo gradients', () => {
  it('match central finite differences for every parameter (relative error < 1e-6)', () => {
    const job = prepareJob(config, dataset);
    const engine = new TopoEngine();
    engine.init(job.params);
    const tokens = job.tokenizer.encodeDocument('olivia');
    const { grads } = gradientsOf(engine, job.layout, config, tokens, job.params);
    let worst = 0;
    let nonzero = 0;
    for (let i = 0; i < job.layout.numParams; i++) {
      const fd = finiteDifference(engine, job.layout, config, tokens, job.params, i);
      const scale = Math.max(Math.abs(fd), Math.abs(grads[i]));
      if (scale > 1e-6) nonzero++;
      worst = Math.max(worst, Math.abs(fd - grads[i]) / Math.max(scale, 1e-3));
    }
    console.log(
      `topo vs finite differences: ${job.layout.numParams} params, ${nonzero} nonzero, ` +
        `worst relative error ${worst.toExponential(2)}`,
    );
    expect(nonzero).toBeGreaterThan(job.layout.numParams / 2);
    expect(worst).toBeLessThan(1e-6);
  });
});
