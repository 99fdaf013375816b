/**
 * The look of a cell, from its metadata.jupyter_agents alone.
 */
import { cellLook, knownStatus, LOOK_CLASSES } from '../status';

describe('cellLook', () => {
  it('shows role, step and status, with the role defaulting to "agent"', () => {
    expect(cellLook({ run_id: 'r', step: 2, status: 'pending' })).toEqual({
      className: 'jp-agents-pending',
      badge: 'agent · step 2 · pending'
    });
    expect(cellLook({ step: 3, role: 'analyst', status: 'edited' })).toEqual({
      className: 'jp-agents-edited',
      badge: 'analyst · step 3 · edited'
    });
  });

  it('says when a cell was cut short or is still running', () => {
    expect(cellLook({ step: 2, status: 'approved', interrupted: true })?.badge).toBe(
      'agent · step 2 · approved · cut short'
    );
    expect(cellLook({ step: 2, status: 'auto', running: true })?.badge).toBe(
      'agent · step 2 · auto · running'
    );
  });

  it('has a class for every status of the protocol', () => {
    for (const status of ['pending', 'approved', 'edited', 'auto', 'rejected']) {
      const look = cellLook({ step: 1, status });
      expect(look?.className).toBe(`jp-agents-${status}`);
      expect(LOOK_CLASSES).toContain(look?.className);
    }
  });

  it('tags a crew section heading with the role that owns it', () => {
    const look = cellLook({ run_id: 'r', section: 'Analysis', role: 'Analyst' });
    expect(look).toEqual({ className: 'jp-agents-section', badge: 'Analyst · section' });
    expect(LOOK_CLASSES).toContain(look?.className);
  });

  it('marks the %agent cell without a badge', () => {
    expect(cellLook({ run_id: 'r', prompt: true })).toEqual({
      className: 'jp-agents-prompt',
      badge: null
    });
  });

  it('keeps what it knows when the metadata is partial or unknown', () => {
    expect(cellLook({ status: 'weird', role: '' })).toEqual({ className: null, badge: 'agent' });
    expect(cellLook({ step: '2', status: 'auto' })).toEqual({
      className: 'jp-agents-auto',
      badge: 'agent · auto'
    });
  });

  it('leaves the user own cells alone', () => {
    for (const metadata of [undefined, null, 'agent', [], 3]) {
      expect(cellLook(metadata)).toBeNull();
    }
  });

  it('knows only the protocol statuses', () => {
    expect(knownStatus('approved')).toBe('approved');
    expect(knownStatus('Approved')).toBeNull();
    expect(knownStatus(undefined)).toBeNull();
  });
});
