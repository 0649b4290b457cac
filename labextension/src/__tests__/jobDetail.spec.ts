import { parameterText } from '../components/job';

describe('parameterText', () => {
  it('says a notebook job’s values as people write them', () => {
    expect(parameterText({ min_age: 65, region: 'north', flags: [1, 2] })).toBe(
      'min_age=65, region="north", flags=[1,2]'
    );
  });
});
